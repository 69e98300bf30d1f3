// The service's shapes the console reads (see schemas/ and the OpenAPI document at /docs).

export type Reaction = {
  signal_id: string;
  cursor: number;
  announcement_id: string;
  instrument: string;
  horizon: string;
  revision: number;
  final: boolean;
  corrected: boolean;
  anchor_at: string;
  base_price: number | null;
  base_at: string | null;
  last_price: number | null;
  last_at: string | null;
  return_pct: number | null;
  max_rise_pct: number | null;
  max_fall_pct: number | null;
  peak_at: string | null;
  time_to_peak_s: number | null;
  baseline_mean_pct: number | null;
  baseline_std_pct: number | null;
  z_score: number | null;
  abnormal_return_pct: number | null;
  significant: boolean | null;
  direction: string | null;
  confounders: string[];
  data_granularity: string;
  emitted_at: string;
};

export type Announcement = {
  id: string;
  published_at: string;
  source: string | null;
  targets: string[];
  sectors: string[];
  action: string;
  tariff_rate_pct: number | null;
  previous_rate_pct: number | null;
  headline: string;
  url: string | null;
};

export type Page<T> = { items: T[]; next_cursor: string | null };

export type PriceBar = { ts: string; open: number; high: number; low: number; close: number };

export const HORIZONS = ["5m", "30m", "2h", "close", "close+1", "close+5"];

export function reactionKey(r: { announcement_id: string; instrument: string; horizon: string }): string {
  return `${r.announcement_id}|${r.instrument}|${r.horizon}`;
}
