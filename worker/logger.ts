// Structured JSON logs (pino). Fields that could carry credentials are redacted as a second line of
// defence; the first is that credentials never reach a log call.
import { pino, type Logger } from 'pino';

export type { Logger };

export const REDACTED_PATHS = ['token', 'kubeconfig', 'clientKeyData', 'clientCertificateData', 'data', '*.token', '*.kubeconfig', '*.data'];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { app: 'clusterinventory' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, timestamp: pino.stdTimeFunctions.isoTime },
    destination ?? process.stdout,
  );
}
