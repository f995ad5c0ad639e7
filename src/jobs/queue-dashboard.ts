// The BullMQ dashboard (@bull-board) for the admin, read-only: an admin sees queues, jobs and
// failures; changing jobs from the browser would bypass the admin's CSRF protection.
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Router } from 'express';

export function createQueueDashboard(queues: Queue[], basePath = '/admin/queues'): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'motcua · hàng đợi' } },
  });
  return serverAdapter.getRouter();
}
