// Reporting periods in Vietnam time (quarter ends in local time), and the Điều 15 arithmetic:
// rounding to one decimal, the unit bands (Xuất sắc from 15 inclusive) and the officer scale.
import { describe, expect, it } from 'vitest';
import { monthsOf, parsePeriod, quarterOf, vietnamDateTime } from '../../src/surveys/period.js';
import { classifyOfficer, classifyUnit, indexScoreTenths, officerBand, unitBand } from '../../src/surveys/scoring.js';

const inside = (code: string, at: Date) => {
  const p = parsePeriod(code);
  return at >= p.from && at < p.to;
};

describe('periods in Asia/Ho_Chi_Minh', () => {
  it('puts 30/09 23:30 local in Q3 and 01/10 00:10 local in Q4', () => {
    const lateQ3 = new Date('2026-09-30T23:30:00+07:00'); // 16:30 UTC
    const earlyQ4 = new Date('2026-10-01T00:10:00+07:00'); // 17:10 UTC on 30/09
    expect(lateQ3.toISOString()).toBe('2026-09-30T16:30:00.000Z');
    expect(earlyQ4.toISOString()).toBe('2026-09-30T17:10:00.000Z');
    expect(inside('2026-Q3', lateQ3)).toBe(true);
    expect(inside('2026-Q4', lateQ3)).toBe(false);
    expect(inside('2026-Q3', earlyQ4)).toBe(false);
    expect(inside('2026-Q4', earlyQ4)).toBe(true);
    expect(quarterOf(lateQ3)).toBe('2026-Q3');
    expect(quarterOf(earlyQ4)).toBe('2026-Q4');
    // The same holds for months, halves and years at their edges.
    expect(inside('2026-09', lateQ3)).toBe(true);
    expect(inside('2026-10', earlyQ4)).toBe(true);
    expect(inside('2026-H2', new Date('2026-06-30T23:59:59+07:00'))).toBe(false);
    expect(inside('2026', new Date('2026-12-31T23:59:59+07:00'))).toBe(true);
    expect(inside('2026', new Date('2027-01-01T00:00:00+07:00'))).toBe(false);
  });

  it('parses every kind of period into a half-open UTC interval with a Vietnamese label', () => {
    expect(parsePeriod('2026-Q3')).toEqual({
      kind: 'quarter',
      code: '2026-Q3',
      from: new Date('2026-06-30T17:00:00Z'),
      to: new Date('2026-09-30T17:00:00Z'),
      label: 'Quý III/2026',
    });
    expect(parsePeriod('2026-q4').to).toEqual(new Date('2026-12-31T17:00:00Z'));
    expect(parsePeriod('2026-H1')).toMatchObject({ from: new Date('2025-12-31T17:00:00Z'), to: new Date('2026-06-30T17:00:00Z'), label: '6 tháng đầu năm 2026' });
    expect(parsePeriod('2026-H2').label).toBe('6 tháng cuối năm 2026');
    expect(parsePeriod('2026-02')).toMatchObject({ from: new Date('2026-01-31T17:00:00Z'), to: new Date('2026-02-28T17:00:00Z'), label: 'Tháng 2/2026' });
    expect(parsePeriod('2026').label).toBe('Năm 2026');
    // A custom range includes both days.
    expect(parsePeriod('2026-09-01..2026-09-30')).toMatchObject({
      from: new Date('2026-08-31T17:00:00Z'),
      to: new Date('2026-09-30T17:00:00Z'),
      label: 'Từ 01/09/2026 đến 30/09/2026',
    });
    expect(parsePeriod('2026-12-15..2026-12-31').to).toEqual(new Date('2026-12-31T17:00:00Z'));
    for (const bad of ['2026-Q5', '2026-13', '2026-02-30..2026-03-01', '2026-09-10..2026-09-01', 'quý 3', '1999']) {
      expect(() => parsePeriod(bad), bad).toThrow(/kỳ báo cáo không hợp lệ/);
    }
  });

  it('lists the local months of a period for the trend', () => {
    const q = parsePeriod('2026-Q3');
    const m = monthsOf(q.from, q.to);
    expect(m.codes).toEqual(['2026-07', '2026-08', '2026-09']);
    expect(m.bounds.map((b) => b.toISOString())).toEqual(['2026-06-30T17:00:00.000Z', '2026-07-31T17:00:00.000Z', '2026-08-31T17:00:00.000Z', '2026-09-30T17:00:00.000Z']);
    const c = parsePeriod('2026-09-15..2026-10-05');
    expect(monthsOf(c.from, c.to).codes).toEqual(['2026-09', '2026-10']);
    expect(vietnamDateTime(new Date('2026-09-30T17:10:00Z'))).toBe('01/10/2026 00:10:00');
  });
});

describe('Điều 15 of TT 01/2018', () => {
  it('averages points over dossiers rounded half up to one decimal, without float error', () => {
    expect(indexScoreTenths(7, 3)).toBe(23); // 2.333 → 2.3
    expect(indexScoreTenths(5, 4)).toBe(13); // 1.25 → 1.3 (half up)
    expect(indexScoreTenths(23, 20)).toBe(12); // 1.15 → 1.2 (1.15 * 10 is 11.4999… in floating point)
    expect(indexScoreTenths(2, 3)).toBe(7); // 0.667 → 0.7
    expect(indexScoreTenths(0, 9)).toBe(0);
    expect(indexScoreTenths(18, 9)).toBe(20);
    expect(() => indexScoreTenths(1, 0)).toThrow(RangeError);
  });

  it('bands a unit: Xuất sắc from exactly 15, Tốt 12–<15, Khá 9–<12, Trung bình 6–<9, Yếu below 6', () => {
    expect(unitBand(180)).toBe('xuat-sac');
    expect(unitBand(150)).toBe('xuat-sac'); // not "> 15": the Thanh Hóa app's bug
    expect(unitBand(149)).toBe('tot');
    expect(unitBand(120)).toBe('tot');
    expect(unitBand(119)).toBe('kha');
    expect(unitBand(90)).toBe('kha');
    expect(unitBand(89)).toBe('trung-binh');
    expect(unitBand(60)).toBe('trung-binh');
    expect(unitBand(59)).toBe('yeu');
    expect(unitBand(0)).toBe('yeu');
  });

  it('bands a unit only on all nine indices (or when the absent ones truly had no data)', () => {
    const citizenOnly = new Map([[1, 20], [3, 20], [4, 20], [7, 20]]);
    expect(classifyUnit(citizenOnly)).toEqual({ totalTenths: 80, indices: [1, 3, 4, 7], missing: [2, 5, 6, 8, 9], band: null });
    // 2 + 2 + 1.5 + 2 + 2 + 2 + 1.5 + 1 + 1 = 15.0 → Xuất sắc
    const all = new Map([[1, 20], [2, 20], [3, 15], [4, 20], [5, 20], [6, 20], [7, 15], [8, 10], [9, 10]]);
    expect(classifyUnit(all)).toMatchObject({ totalTenths: 150, missing: [], band: 'xuat-sac' });
    // Index 9 without data (no online service) is left out: 14.0 over eight indices → Tốt.
    const noNine = new Map([...all].filter(([i]) => i !== 9));
    expect(classifyUnit(noNine, true)).toMatchObject({ totalTenths: 140, missing: [9], band: 'tot' });
    expect(classifyUnit(new Map())).toMatchObject({ totalTenths: 0, band: null });
  });

  it('uses the 10-point scale for an official over indices 1, 2, 3, 4, 7', () => {
    expect(officerBand(100)).toBe('full');
    expect(officerBand(50)).toBe('full');
    expect(officerBand(49)).toBe('from-70');
    expect(officerBand(35)).toBe('from-70');
    expect(officerBand(34)).toBe('below-70');
    const officer = new Map([[1, 10], [2, 10], [3, 10], [4, 10], [7, 10], [9, 20]]);
    // Index 9 is not on the officer's scale: 5 × 1.0 = 5.0 → hoàn thành 100%.
    expect(classifyOfficer(officer)).toEqual({ totalTenths: 50, indices: [1, 2, 3, 4, 7], missing: [], band: 'full' });
  });
});
