/** The server's pino logger: JSON lines, secrets redacted from request logs. */
import pino, { type Logger } from 'pino';

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: 'casefile-server',
      level,
      redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.token', '*.postgresDsn'], censor: '[redacted]' },
    },
    destination
  );
}
