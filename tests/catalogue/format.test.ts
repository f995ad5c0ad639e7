import { describe, expect, it } from 'vitest';
import { formatFee, formatTime, summariseChannels } from '../../src/catalogue/format.js';
import type { Fee, SubmissionChannel, TimeLimit } from '../../src/catalogue/schema.js';

const time = (t: Partial<TimeLimit>): TimeLimit => ({ value: 3, unit: 'working_day', text: '3 ngày làm việc', unitFrom: 'table', ...t });
const fee = (f: Partial<Fee>): Fee => ({ stated: true, free: false, setByProvince: false, amountVnd: null, text: null, ...f });

describe('formatTime', () => {
  it('shows the value with its unit', () => {
    expect(formatTime(time({}))).toBe('3 ngày làm việc');
    expect(formatTime(time({ value: 1.5, unit: 'day' }))).toBe('1,5 ngày');
    expect(formatTime(time({ value: 8, unit: 'working_hour' }))).toBe('8 giờ làm việc');
  });
  it('never shows a number whose unit is unknown', () => {
    expect(formatTime(time({ value: 1, unit: 'unknown', text: null, unitFrom: 'none' }))).toBeNull();
    expect(formatTime(time({ value: 1, unit: 'unknown', text: '1', unitFrom: 'none' }))).toBeNull();
  });
  it('shows a curated text-only limit only when it names its unit', () => {
    expect(formatTime(time({ value: null, unit: 'day', text: 'Trong ngày' }))).toBe('Trong ngày');
    expect(formatTime(time({ value: null, unit: 'month', text: 'ba' }))).toBeNull();
  });
});

describe('formatFee', () => {
  it('says nothing about a fee the source does not state', () => {
    expect(formatFee(fee({ stated: false }))).toBeNull();
  });
  it('free, provincial, amount, text', () => {
    expect(formatFee(fee({ free: true, text: 'Miễn phí' }))).toBe('Miễn phí');
    expect(formatFee(fee({ setByProvince: true, text: 'Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh…' }))).toBe('Theo mức do HĐND tỉnh quy định');
    expect(formatFee(fee({ amountVnd: 8000, text: '8.000 đồng' }))).toBe('8.000 đồng');
    expect(formatFee(fee({ amountVnd: 1500000 }))).toBe('1.500.000 đồng');
    expect(formatFee(fee({ text: '10 USD (10USD/giấy)' }))).toBe('10 USD (10USD/giấy)');
  });
  it('returns NFC text', () => {
    const nfd = 'Lệ phí theo mức thu'.normalize('NFD');
    expect(formatFee(fee({ text: nfd }))).toBe('Lệ phí theo mức thu'.normalize('NFC'));
  });
});

describe('summariseChannels', () => {
  const ch = (kind: SubmissionChannel['kind'], t: TimeLimit, f: Fee): SubmissionChannel => ({
    kind,
    label: { direct: 'Trực tiếp', online: 'Trực tuyến', postal: 'Dịch vụ bưu chính' }[kind],
    time: t,
    fee: f,
    description: '',
  });
  it('groups channels with the same time and fee', () => {
    const s = summariseChannels({
      channels: [ch('online', time({}), fee({ free: true })), ch('direct', time({}), fee({ free: true }))],
    });
    expect(s.uniform).toBe(true);
    expect(s.kinds).toEqual(['Trực tiếp', 'Trực tuyến']);
    expect(s.lines).toEqual(['Trực tiếp, Trực tuyến: 3 ngày làm việc; lệ phí: Miễn phí']);
  });
  it('keeps variants apart and says what is not stated', () => {
    const s = summariseChannels({
      channels: [
        ch('direct', time({ value: 15, unit: 'day' }), fee({ setByProvince: true })),
        ch('postal', time({ value: 1, unit: 'unknown', text: null, unitFrom: 'none' }), fee({ stated: false })),
      ],
    });
    expect(s.uniform).toBe(false);
    expect(s.lines).toEqual([
      'Trực tiếp: 15 ngày; lệ phí: Theo mức do HĐND tỉnh quy định',
      'Dịch vụ bưu chính: thời hạn chưa được công bố; lệ phí chưa được công bố',
    ]);
  });
});
