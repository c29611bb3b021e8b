// The logger the watcher writes to. Structurally a subset of pino's Logger (object first, then the
// message), so the process logger (worker/logger.ts) can be passed as is.

export type LogFields = Record<string, unknown>;

export interface WatcherLogger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** One JSON object per line on stderr; the default when no logger is given. */
export function jsonLogger(level: Level = 'info', write: (line: string) => void = (l) => process.stderr.write(l)): WatcherLogger {
  const at =
    (l: Level) =>
    (fields: LogFields, message: string): void => {
      if (ORDER[l] < ORDER[level]) return;
      write(`${JSON.stringify({ level: l, time: new Date().toISOString(), component: 'watcher', msg: message, ...fields })}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export const silentLogger: WatcherLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** Error text for logs; never the object itself (it could carry a request with headers). */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
