// What the fault tests ask and how they recognise the answer: procedure questions whose reply
// is one message on both platforms, opening with the procedure's name. A reply's first line
// tells which question it answers, so that a citizen's two questions are told apart.

export interface Topic {
  question: string;
  /** Matches the first line of the reply to this question. */
  title: RegExp;
}

export const TOPICS: readonly Topic[] = [
  { question: 'cho em hỏi làm giấy khai sinh cần gì ạ', title: /^Thủ tục đăng ký khai sinh$/ },
  { question: 'đăng ký kết hôn', title: /^Thủ tục đăng ký kết hôn$/ },
  { question: 'đăng ký khai tử', title: /^Thủ tục đăng ký khai tử$/ },
  { question: 'dk tam tru', title: /^Đăng ký tạm trú$/ },
];

/** The text of a Messenger or Zalo message body as we render it (text or button template). */
export function replyText(body: unknown): string {
  const b = body as { message?: { text?: unknown; attachment?: { payload?: { text?: unknown } } } };
  if (typeof b.message?.text === 'string') return b.message.text;
  const t = b.message?.attachment?.payload?.text;
  return typeof t === 'string' ? t : '';
}

/** The first line of each message. */
export function replyTitles(bodies: readonly unknown[]): string[] {
  return bodies.map((b) => replyText(b).split('\n')[0] ?? '');
}
