/** data-testids of pin jobs (the pin's progress, and the running pins on the Snapshots page); dependency-free for the browser tests. */
export const pinJobTestIds = {
  progress: 'data-testid cf-pin-job-progress',
  progressText: 'data-testid cf-pin-job-progress-text',
  cancel: 'data-testid cf-pin-job-cancel',
  done: 'data-testid cf-pin-job-done',
  error: 'data-testid cf-pin-job-error',
  retry: 'data-testid cf-pin-job-retry',
  cancelled: 'data-testid cf-pin-job-cancelled',
  running: 'data-testid cf-snapshots-running',
  runningRow: 'data-testid cf-snapshots-running-row',
};
