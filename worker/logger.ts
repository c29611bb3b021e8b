// Structured logs (pino): JSON lines, or plain text lines for a person at a terminal
// (worker/console-format.ts). Fields that could carry credentials are redacted as a second line of
// defence; the first is that credentials never reach a log call. Task tokens are dropped in every format.
import { pino, type Logger } from 'pino';
import { textDestination, withoutTaskTokens, type LogFormat } from './console-format.js';

export type { Logger, LogFormat };

export const REDACTED_PATHS = ['token', 'kubeconfig', 'clientKeyData', 'clientCertificateData', 'data', '*.token', '*.kubeconfig', '*.data'];

/** 'auto': text when the destination is a terminal, JSON otherwise. */
export function resolveLogFormat(format: LogFormat | 'auto', destination: NodeJS.WritableStream): LogFormat {
  if (format !== 'auto') return format;
  return (destination as { isTTY?: boolean }).isTTY ? 'text' : 'json';
}

/** Set by logAt() for the duration of one log call. */
let loggedAtMs: number | undefined;

/**
 * Runs `write` (one log call) with the line stamped `epochMs` instead of now: for lines handed over after
 * the fact, like the SDK's buffered workflow and activity logs.
 */
export function logAt(epochMs: number | undefined, write: () => void): void {
  loggedAtMs = epochMs;
  try {
    write();
  } finally {
    loggedAtMs = undefined;
  }
}

const isoTime = (): string => `,"time":"${new Date(loggedAtMs ?? Date.now()).toISOString()}"`;

export function createLogger(level: string, destination: NodeJS.WritableStream = process.stdout, format: LogFormat | 'auto' = 'auto'): Logger {
  return pino(
    {
      level,
      base: { app: 'clusterinventory' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: isoTime,
      formatters: { log: (fields) => withoutTaskTokens(fields) },
    },
    resolveLogFormat(format, destination) === 'text' ? textDestination(destination) : destination,
  );
}
