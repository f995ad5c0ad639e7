// The conversation-flow port (src/conversation/flow.ts): payload routing by action, a link told
// from a tap, the active flow reading text first (digits included), a passive flow claiming
// text, numbered choices reaching a flow's buttons, replies after an answer, leaving.
import { describe, expect, it } from 'vitest';
import type { InboundEvent, Reply } from '../../src/channels/channel.js';
import { createEngine } from '../../src/conversation/engine.js';
import type { ConversationFlow, FlowTurn, FlowVia } from '../../src/conversation/flow.js';
import { defaultIntentsDir, loadIntents } from '../../src/conversation/intents.js';
import { MemoryHandoffQueue, MemoryQueryLog, MemoryStateStore, MemoryUnitDirectory } from '../../src/conversation/memory-ports.js';
import { reply } from '../../src/conversation/replies.js';
import { FakeSearcher, fixtureCatalogue, SCRIPTS, UNIT } from './fixtures.js';

const intents = loadIntents(defaultIntentsDir());

class EchoFlow implements ConversationFlow {
  readonly name = 'echo';
  readonly actions = ['ec'];
  readonly seen: Array<{ kind: string; value: string; via?: FlowVia; data: Record<string, unknown> | null }> = [];
  offer = true;

  async onPayload(turn: FlowTurn, payload: string, via: FlowVia): Promise<Reply[]> {
    this.seen.push({ kind: 'payload', value: payload, via, data: turn.data });
    if (payload === 'mc:ec:start') {
      await turn.enter({ step: 1 });
      return [reply('Bắt đầu', { buttons: [{ title: 'Một', payload: 'mc:ec:one' }, { title: 'Hai', payload: 'mc:ec:two' }] })];
    }
    return [reply(`Nút ${payload}`)];
  }

  async onText(turn: FlowTurn, text: string): Promise<Reply[] | null> {
    this.seen.push({ kind: 'text', value: text, data: turn.data });
    if (turn.data) {
      if (text === 'thôi') {
        await turn.leave();
        return [reply('Đã dừng')];
      }
      if (/^\d{4}$/.test(text)) return [reply(`Mã ${text}`)];
      return null;
    }
    return text.startsWith('tra cứu') ? [reply('Tra cứu')] : null;
  }

  async afterAnswer(_turn: FlowTurn, procedure: { code: string }): Promise<Reply[]> {
    return this.offer ? [reply(`Mời đánh giá ${procedure.code}`)] : [];
  }
}

function rig() {
  const store = new MemoryStateStore(() => Date.UTC(2026, 10, 20));
  const flow = new EchoFlow();
  const engine = createEngine({
    catalogue: fixtureCatalogue(),
    searcher: new FakeSearcher(SCRIPTS),
    state: store,
    queryLog: new MemoryQueryLog(),
    handoff: new MemoryHandoffQueue(),
    units: new MemoryUnitDirectory([UNIT]),
    intents,
    flows: [flow],
    now: () => new Date(Date.UTC(2026, 10, 20)),
    onError: (e) => {
      throw e;
    },
  });
  return { engine, flow, store };
}

let seq = 0;
const base = { unitId: 'xa-mau', channel: 'zalo' as const, accountId: 'oa-1', userId: 'u1', timestamp: 0 };
const text = (t: string): InboundEvent => ({ ...base, kind: 'text', messageId: `f${++seq}`, text: t });
const tap = (payload: string, ref?: string): InboundEvent => ({ ...base, kind: 'postback', messageId: `f${++seq}`, payload, ...(ref ? { ref } : {}) });

describe('conversation flows', () => {
  it('routes its payloads to it, telling a link from a tap, and stores its state', async () => {
    const { engine, flow, store } = rig();
    expect((await engine.handle(tap('mc:ec:start', 'mc:ec:start')))[0]?.text).toBe('Bắt đầu');
    expect(flow.seen[0]).toMatchObject({ kind: 'payload', via: 'link', data: null });
    const state = await store.get({ unitId: 'xa-mau', channel: 'zalo', userId: 'u1' });
    expect(state).toMatchObject({ mode: 'flow', flow: 'echo', data: { step: 1 } });
    await engine.handle(tap('mc:ec:one'));
    expect(flow.seen[1]).toMatchObject({ via: 'tap', data: { step: 1 } });
  });

  it('gives the active flow digits-only text before the engine refuses it, and numbered choices its buttons', async () => {
    const { engine, flow } = rig();
    await engine.handle(tap('mc:ec:start'));
    expect((await engine.handle(text('1234')))[0]?.text).toBe('Mã 1234');
    // "2" is not taken by the flow's text handler: it picks the second button of the last reply.
    expect((await engine.handle(text('2')))[0]?.text).toBe('Nút mc:ec:two');
    expect(flow.seen.at(-1)).toMatchObject({ kind: 'payload', value: 'mc:ec:two', via: 'tap' });
  });

  it('lets go of text it does not want (the engine answers) and leaves on request', async () => {
    const { engine, store } = rig();
    await engine.handle(tap('mc:ec:start'));
    const answered = await engine.handle(text('ket hon'));
    expect(answered[0]?.text).toContain('kết hôn');
    // The answer replaced the flow's state; the flow's offer came after the answer.
    expect(answered.at(-1)?.text).toBe('Mời đánh giá 1.000894');
    expect((await store.get({ unitId: 'xa-mau', channel: 'zalo', userId: 'u1' }))?.mode).toBe('answered');
    await engine.handle(tap('mc:ec:start'));
    expect((await engine.handle(text('thôi')))[0]?.text).toBe('Đã dừng');
    expect((await store.get({ unitId: 'xa-mau', channel: 'zalo', userId: 'u1' }))?.mode).toBe('idle');
  });

  it('lets an inactive flow claim text; digits outside a flow are not the flow\'s', async () => {
    const { engine } = rig();
    expect((await engine.handle(text('tra cứu hồ sơ')))[0]?.text).toBe('Tra cứu');
    expect((await engine.handle(text('1234')))[0]?.text).not.toBe('Mã 1234');
  });

  it('refuses two flows with the same action and a flow taking an engine action', () => {
    const common = {
      catalogue: fixtureCatalogue(),
      searcher: new FakeSearcher(SCRIPTS),
      state: new MemoryStateStore(),
      queryLog: new MemoryQueryLog(),
      handoff: new MemoryHandoffQueue(),
      units: new MemoryUnitDirectory([UNIT]),
      intents,
    };
    const a = new EchoFlow();
    const b = Object.assign(new EchoFlow(), { name: 'other' });
    expect(() => createEngine({ ...common, flows: [a, b] })).toThrow(/taken/);
    const c = Object.assign(new EchoFlow(), { name: 'c', actions: ['sub'] });
    expect(() => createEngine({ ...common, flows: [c] })).toThrow(/taken/);
  });
});
