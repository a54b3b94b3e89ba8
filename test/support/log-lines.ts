// The agent's stderr without the ISO 8601 timestamp each line carries when stderr is not a TTY
// (a pipe, as in the tests): for tests that read the level and message of a line.
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /gm;

export function withoutTimestamps(stderr: string): string {
  return stderr.replace(TIMESTAMP, '');
}
