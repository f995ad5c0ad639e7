// Điều 15 of Thông tư 01/2018/TT-VPCP (SURVEYS.md §0): an index's score is the sum of its
// points over the dossiers evaluated divided by their number, rounded to one decimal; a total is
// the sum of the index scores (an index without data is left out). Two scales:
// - agencies and units, all 9 indices (max 18): Xuất sắc ≥ 15 (not > 15), Tốt 12–<15,
//   Khá 9–<12, Trung bình 6–<9, Yếu < 6;
// - individual officials, indices 1, 2, 3, 4, 7 (max 10): ≥ 5 hoàn thành 100% nhiệm vụ,
//   3.5–<5 từ 70% đến dưới 100%, < 3.5 dưới 70%.
// Scores are handled in tenths (integers) so that 14.95 never becomes 15 by float error.

/** round(sum / count, 1 decimal), half up, in tenths: 7 points over 3 dossiers → 23 (2.3). */
export function indexScoreTenths(sum: number, count: number): number {
  if (!Number.isInteger(sum) || !Number.isInteger(count) || count <= 0 || sum < 0) throw new RangeError('sum and count must be whole numbers, count > 0');
  return Math.floor((20 * sum + count) / (2 * count));
}

export type UnitBand = 'xuat-sac' | 'tot' | 'kha' | 'trung-binh' | 'yeu';
export const UNIT_BAND_LABELS: Record<UnitBand, string> = {
  'xuat-sac': 'Xuất sắc',
  tot: 'Tốt',
  kha: 'Khá',
  'trung-binh': 'Trung bình',
  yeu: 'Yếu',
};

/** The band of a unit's total (in tenths of a point). */
export function unitBand(totalTenths: number): UnitBand {
  if (totalTenths >= 150) return 'xuat-sac';
  if (totalTenths >= 120) return 'tot';
  if (totalTenths >= 90) return 'kha';
  if (totalTenths >= 60) return 'trung-binh';
  return 'yeu';
}

export type OfficerBand = 'full' | 'from-70' | 'below-70';
export const OFFICER_BAND_LABELS: Record<OfficerBand, string> = {
  full: 'Hoàn thành 100% nhiệm vụ',
  'from-70': 'Hoàn thành từ 70% đến dưới 100% nhiệm vụ',
  'below-70': 'Hoàn thành dưới 70% nhiệm vụ',
};

/** The band of an official's total over indices 1, 2, 3, 4, 7 (in tenths of a point). */
export function officerBand(totalTenths: number): OfficerBand {
  if (totalTenths >= 50) return 'full';
  if (totalTenths >= 35) return 'from-70';
  return 'below-70';
}

export const ALL_INDICES = [1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
/** Indices citizens supply through evaluation forms (Điều 14): the others come from the one-stop system or inspections. */
export const CITIZEN_INDICES = [1, 3, 4, 7] as const;
export const OFFICER_INDICES = [1, 2, 3, 4, 7] as const;

export interface Classification<B> {
  totalTenths: number;
  /** Indices that had data (and are in the total). */
  indices: number[];
  /** The indices the scale is defined over that are absent. */
  missing: number[];
  /** null while indices from other sources are missing: a partial total is not a rating. */
  band: B | null;
}

/**
 * A unit's total and band from its index scores (tenths). An index without data is left out of
 * the total, as Điều 15 says, but a band is given only when every index of the scale is present
 * or `absentHaveNoData` says the absent ones truly had no data (not merely another source).
 */
export function classifyUnit(scoresTenths: ReadonlyMap<number, number>, absentHaveNoData = false): Classification<UnitBand> {
  return classify(scoresTenths, ALL_INDICES, absentHaveNoData, unitBand);
}

/** An official's total and band over indices 1, 2, 3, 4, 7. */
export function classifyOfficer(scoresTenths: ReadonlyMap<number, number>, absentHaveNoData = false): Classification<OfficerBand> {
  return classify(scoresTenths, OFFICER_INDICES, absentHaveNoData, officerBand);
}

function classify<B>(scores: ReadonlyMap<number, number>, scale: readonly number[], absentHaveNoData: boolean, band: (t: number) => B): Classification<B> {
  const indices = scale.filter((i) => scores.has(i));
  const missing = scale.filter((i) => !scores.has(i));
  const totalTenths = indices.reduce((s, i) => s + (scores.get(i) ?? 0), 0);
  return { totalTenths, indices, missing, band: indices.length > 0 && (missing.length === 0 || absentHaveNoData) ? band(totalTenths) : null };
}
