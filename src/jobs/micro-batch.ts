// Gathers calls made within a few milliseconds into one batch, so that a burst of webhook
// requests costs one Redis round trip per batch instead of several per request.
export function microBatch<T, R>(run: (items: T[]) => Promise<R[]>, options: { maxItems?: number; maxDelayMs?: number } = {}): (item: T) => Promise<R> {
  const maxItems = options.maxItems ?? 128;
  const maxDelayMs = options.maxDelayMs ?? 1;
  let pending: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  let timer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    run(batch.map((b) => b.item)).then(
      (results) => batch.forEach((b, i) => (i < results.length ? b.resolve(results[i] as R) : b.reject(new Error('batch returned too few results')))),
      (err: unknown) => batch.forEach((b) => b.reject(err)),
    );
  };

  return (item: T) =>
    new Promise<R>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      if (pending.length >= maxItems) flush();
      else if (!timer) timer = setTimeout(flush, maxDelayMs);
    });
}
