// A `motcua worker` with WORKER_TASKS=broadcasts (fan-out, tick, broadcast sends) in a process of
// its own, for the broadcast benchmark: the bench's process then only answers citizens, as a
// deployment that runs broadcasts apart does. Settings come as JSON in argv; it says {ready}
// over IPC and stops on {stop}.
import { start } from '../src/main.js';

async function main(): Promise<void> {
  const [envJson] = process.argv.slice(2);
  if (!envJson) throw new Error('usage: broadcast-worker <settings as JSON>');
  const running = await start('worker', { ...(JSON.parse(envJson) as Record<string, string>), WORKER_TASKS: 'broadcasts' });
  process.on('message', (m: { stop?: boolean }) => {
    if (!m.stop) return;
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
  process.send?.({ ready: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`broadcast-worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
