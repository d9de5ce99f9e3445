/** The slice of a pino logger the SMS transports use, so a pino instance or `console` both fit. */
export interface SmsLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  /** Where message bodies go (never at info); optional. */
  debug?(obj: object, msg?: string): void;
}

export const consoleLogger: SmsLogger = {
  info: (obj, msg) => console.info(msg ?? '', obj),
  warn: (obj, msg) => console.warn(msg ?? '', obj),
};

/** Drops everything; the SMPP transport's default so library users opt in to connection chatter. */
export const silentLogger: SmsLogger = {
  info: () => {},
  warn: () => {},
};
