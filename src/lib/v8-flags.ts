// V8 settings the service gives itself at run time, so that they hold however it is started
// (node dist/main.js, npm start, the Docker image, a process manager) rather than only where a
// start script passes them. An operator's own choice wins: a flag already given on node's command
// line or in NODE_OPTIONS, in either spelling (--a-b / --a_b) or negated (--no-a-b), is left alone.
import v8 from 'node:v8';

/** Whether `flag` (without dashes, e.g. "heap-growing-percent") was given to node by the operator. */
export function v8FlagGiven(flag: string, given: readonly string[] = operatorFlags()): boolean {
  const name = flag.replace(/_/g, '-');
  return given.some((arg) => {
    const a = arg.replace(/_/g, '-');
    return a === `--${name}` || a.startsWith(`--${name}=`) || a === `--no-${name}`;
  });
}

function operatorFlags(): string[] {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean)];
}

/**
 * Sets a V8 flag (`--name` or `--name=value`) unless the operator gave it; returns whether it was
 * set. Only for flags V8 reads when it uses them (not once at start-up), or the call does nothing.
 */
export function setV8FlagUnlessGiven(name: string, value?: string | number): boolean {
  if (v8FlagGiven(name)) return false;
  v8.setFlagsFromString(value === undefined ? `--${name}` : `--${name}=${value}`);
  return true;
}
