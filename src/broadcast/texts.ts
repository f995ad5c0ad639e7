// What citizens and officers read around a broadcast that is not the officer's own text: button
// labels, the line introducing a held announcement, and the preview notes. One place, NFC,
// Vietnamese with diacritics.
export const BROADCAST_TEXTS = {
  /** Title of the button opening the announcement's link (Messenger ≤ 20, Zalo ≤ 100 characters). */
  linkButton: 'Xem chi tiết',
  /** Title of the link to the image where a platform cannot show it inline (held replies). */
  imageLink: 'Xem hình ảnh',
  /** First line of an announcement delivered late, with the next reply. {date} = dd/MM/yyyy. */
  heldIntro: 'Thông báo ngày {date}:',
  preview: {
    image: '[Hình ảnh] {url}',
    button: '[Nút “{title}” → {url}]',
    banner: '[Ảnh bìa] {url}',
    header: '[Tiêu đề] {text}',
    messengerParts: 'Người dân nhận {n} tin nhắn liên tiếp.',
    messengerWindow:
      'Messenger chỉ gửi được cho người đã nhắn tin với Trang trong 24 giờ qua; những người khác nhận thông báo kèm câu trả lời khi họ nhắn lại (trong {days} ngày).',
    messengerNoHold: 'Messenger chỉ gửi được cho người đã nhắn tin với Trang trong 24 giờ qua; những người khác không nhận được thông báo này.',
    zaloRules:
      'Zalo gửi dạng tin truyền thông: chỉ người đang quan tâm OA, từ 06:00 đến 21:59 (gửi lúc khác sẽ chờ đến 06:00), tối đa 1 tin mỗi người mỗi ngày và theo hạn mức tháng của gói OA.',
    zaloHeaderCut: 'Tiêu đề dài hơn {max} ký tự nên bị cắt trên Zalo.',
    zaloTextSplit: 'Nội dung dài hơn {max} ký tự nên chia thành {n} đoạn trong cùng một tin.',
    web: 'Website không gửi chủ động được: thông báo hiện khi người dân mở lại khung chat (trong {days} ngày).',
    webNoHold: 'Website không gửi chủ động được, và thời gian giữ là 0 ngày: người dân dùng website sẽ không nhận thông báo này.',
  },
} as const;

/** Replaces {name} placeholders. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => (key in values ? String(values[key]) : whole));
}
