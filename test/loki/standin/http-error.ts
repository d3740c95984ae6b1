/** An error with the HTTP status Loki answers it with; the message is the plain-text body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** What the stand-in answers for anything it does not model: never a plausible wrong answer. */
export function notModelled(what: string): HttpError {
  return new HttpError(400, `not modelled by the Loki stand-in: ${what}`);
}
