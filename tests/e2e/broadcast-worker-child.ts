// The worker role as its own process, for the broadcast crash test: started with the test's
// settings in the environment (fakes' URLs, the test database, an isolated key prefix), it
// prints "ready" once its workers run, and is killed with SIGKILL at random points.
import { start } from '../../src/main.js';

async function main(): Promise<void> {
  const running = await start('worker', process.env);
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`worker child: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
