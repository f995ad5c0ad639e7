// Everything the dossier look-up says in chat, and the words that start or stop it: one messages
// module (like intents/messages.yaml for the engine), so wording is edited here and nowhere
// else. Vietnamese, NFC. Placeholders in braces are filled by the flow: {code}, {minutes},
// {unitName}, {contact}, {date}… Button titles stay within Messenger's 20 characters.
export interface DossierChatTexts {
  /** Start a look-up (marks, case and punctuation ignored; followed by a code or alone). */
  triggers: readonly string[];
  /**
   * Text starting with these is another flow's even when it carries a dossier code: the
   * survey's "đánh giá hồ sơ <mã>" evaluates a dossier, it does not look it up.
   */
  otherFlows: readonly string[];
  /** Stop a look-up that is waiting for a code or digits. */
  cancelWords: readonly string[];
  /** Words ignored around a code after a trigger ("tra cứu hồ sơ mã số: …"). */
  codeLabels: readonly string[];
  /** Politeness and such, ignored around a trigger, a code or the digits ("giúp em ạ", "4 số cuối là"). */
  fillerWords: readonly string[];
  askCode: string;
  askDigits: string;
  digitsFormat: string;
  refused: string;
  coolDown: string;
  coolDownContact: string;
  cancelled: string;
  answer: {
    header: string;
    procedure: string;
    status: string;
    received: string;
    due: string;
    dueNone: string;
    onTime: string;
    overdue: string;
    resolvedOnTime: string;
    resolvedLate: string;
    missing: string;
    missingNone: string;
    pickup: string;
    pickupDesk: string;
    hours: string;
    bring: string;
    returned: string;
    closed: string;
    linkedNote: string;
  };
  buttons: { link: string; unlink: string; another: string };
  linked: { messenger: string; zalo: string; web: string; resultReady: string; evaluation: string };
  linkNeedsCheck: string;
  linkUnavailable: string;
  unlinked: string;
  notLinked: string;
}

export const DOSSIER_CHAT_TEXTS: DossierChatTexts = {
  triggers: [
    'tra cứu hồ sơ',
    'tra cứu mã hồ sơ',
    'tra cứu tiến độ hồ sơ',
    'tra cứu tình trạng hồ sơ',
    'kiểm tra hồ sơ',
    'kiểm tra tiến độ hồ sơ',
    'kiểm tra tình trạng hồ sơ',
    'tra hồ sơ',
    'xem hồ sơ',
    'tiến độ hồ sơ',
    'tình trạng hồ sơ',
    'hồ sơ của tôi',
  ],
  otherFlows: ['đánh giá', 'khảo sát', 'góp ý'],
  cancelWords: ['hủy', 'huỷ', 'hủy tra cứu', 'thôi', 'thôi không tra cứu', 'dừng', 'dừng tra cứu', 'không tra cứu nữa'],
  codeLabels: ['mã', 'số', 'mã số', 'mã hồ sơ', 'số hồ sơ', 'là'],
  fillerWords: ['ạ', 'à', 'nhé', 'nha', 'với', 'giúp', 'em', 'mình', 'tôi', 'cho', 'xin', 'ad', 'ơi', 'bạn', 'vui lòng', 'cần', 'muốn', 'hãy', 'của', 'đây', 'sđt', 'điện thoại', 'cuối', '4', 'bốn'],
  askCode:
    'Bạn gửi giúp mã hồ sơ in trên Giấy tiếp nhận hồ sơ và hẹn trả kết quả, ví dụ: 000.00.01.H56-240101-0001.\nGõ “hủy” để thôi tra cứu.',
  askDigits:
    'Để bảo vệ thông tin hồ sơ {code}, bạn nhập 4 số cuối của số điện thoại đã khai khi nộp hồ sơ (ví dụ: 5678).\nGõ “hủy” để thôi tra cứu.',
  digitsFormat: 'Bạn chỉ cần nhập đúng 4 chữ số cuối của số điện thoại đã khai khi nộp hồ sơ, ví dụ: 5678.',
  refused:
    'Chưa tra cứu được: mã hồ sơ hoặc 4 số cuối của số điện thoại chưa khớp. Bạn xem lại Giấy tiếp nhận rồi nhập lại 4 số, hoặc gửi lại mã hồ sơ. Nếu khi nộp hồ sơ bạn không khai số điện thoại, xin hỏi Bộ phận Một cửa.',
  coolDown:
    'Thông tin đã nhập chưa khớp quá nhiều lần. Để bảo vệ thông tin hồ sơ của người dân, việc tra cứu tạm dừng; bạn thử lại sau khoảng {minutes} phút{contact}.',
  coolDownContact: ', hoặc hỏi trực tiếp Bộ phận Một cửa (điện thoại {phone})',
  cancelled: 'Đã thôi tra cứu hồ sơ. Bạn cần hỏi gì về thủ tục hành chính cứ nhắn nhé.',
  answer: {
    header: 'Hồ sơ {code}',
    procedure: 'Thủ tục: {procedure}',
    status: 'Trạng thái: {status}',
    received: 'Ngày tiếp nhận: {date}',
    due: 'Ngày hẹn trả kết quả: {date}',
    dueNone: 'Ngày hẹn trả kết quả: chưa ghi',
    onTime: 'Hồ sơ đang trong hạn giải quyết.',
    overdue: 'Hồ sơ đã quá ngày hẹn trả kết quả. Bạn có thể hỏi Bộ phận Một cửa về lý do và thời gian trả kết quả mới.',
    resolvedOnTime: 'Hồ sơ có kết quả đúng hẹn.',
    resolvedLate: 'Hồ sơ có kết quả muộn hơn ngày hẹn.',
    missing: 'Cần bổ sung: {missing}\nBạn bổ sung tại Bộ phận Một cửa để hồ sơ tiếp tục được giải quyết.',
    missingNone: 'Hồ sơ cần bổ sung giấy tờ: bạn liên hệ Bộ phận Một cửa để biết cần bổ sung gì.',
    pickup: 'Nơi nhận kết quả: {place}',
    pickupDesk: 'Bộ phận Một cửa, {unitName}',
    hours: 'Giờ làm việc: {hours}',
    bring: 'Khi đến nhận, bạn mang theo Giấy tiếp nhận hồ sơ và giấy tờ tùy thân.',
    returned: 'Kết quả đã được trả ngày {date}.',
    closed: 'Hồ sơ đã kết thúc ({status}). Bạn cần biết thêm xin hỏi Bộ phận Một cửa.',
    linkedNote: 'Bạn đang nhận thông báo về hồ sơ này.',
  },
  buttons: { link: 'Nhận thông báo', unlink: 'Hủy nhận thông báo', another: 'Tra cứu hồ sơ khác' },
  linked: {
    messenger:
      'Đã đăng ký: khi hồ sơ {code} có kết quả, trợ lý sẽ nhắn cho bạn tại đây. Facebook chỉ cho Trang nhắn trong 24 giờ sau lần gần nhất bạn nhắn tin; nếu quá thời gian đó, bạn sẽ nhận thông báo khi nhắn tin lần tới.',
    zalo: 'Đã đăng ký: khi hồ sơ {code} có kết quả, {unitName} sẽ gửi thông báo cho bạn qua Zalo (trong vòng một năm kể từ lần gần nhất bạn nhắn tin cho OA).',
    web: 'Đã đăng ký: khi hồ sơ {code} có kết quả, bạn sẽ thấy thông báo trong khung hỏi đáp này vào lần mở tới (trên trình duyệt này).',
    resultReady: 'Hồ sơ đã có kết quả: bạn có thể đến nhận ngay.',
    evaluation: 'Sau khi nhận kết quả, bạn sẽ được mời đánh giá mức độ hài lòng (một lần). Muốn dừng, bấm “Hủy nhận thông báo”.',
  },
  linkNeedsCheck: 'Để nhận thông báo về hồ sơ {code}, bạn cần tra cứu và nhập đúng 4 số cuối của số điện thoại trước.',
  linkUnavailable: 'Khung chat này chưa nhận được thông báo hồ sơ. Bạn có thể tra cứu lại bất cứ lúc nào, hoặc nhắn cho Zalo OA / Trang Facebook của {unitName}.',
  unlinked: 'Đã hủy: bạn sẽ không nhận thông báo về hồ sơ {code} nữa. Bạn vẫn tra cứu được bất cứ lúc nào.',
  notLinked: 'Bạn chưa đăng ký nhận thông báo về hồ sơ {code}, nên không cần hủy.',
};
