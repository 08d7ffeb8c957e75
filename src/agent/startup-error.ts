// A problem that stops start-up (main thread): main.ts prints it as one line and exits 1.

export class StartupError extends Error {
  override readonly name = 'StartupError';
  readonly exitCode = 1;
}
