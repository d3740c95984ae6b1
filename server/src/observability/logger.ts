/** The server's pino logger: JSON lines; the Authorization header is redacted (config secrets are redacted by redactedConfig). */
import pino, { type Logger } from 'pino';

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: 'casefile-server',
      level,
      redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
    },
    destination
  );
}
