/**
 * Two small SVG charts for the campaign page. Drawn by hand: they are a few rects and labels, SVG keeps
 * them crisp and readable by assistive technology (each has a text summary), and a charting library would
 * outweigh the rest of the console. The same numbers are in the tables beside them.
 */
import { callStatusWords } from '../words.ts';

export interface RoundBar {
  label: string;
  percent: number;
}

export function AnswerRateChart({ rounds }: { rounds: RoundBar[] }) {
  const rowHeight = 26;
  const height = rounds.length * rowHeight + 4;
  const summary = rounds.map((round) => `${round.label} ${round.percent}%`).join(', ');
  return (
    <figure class="chart">
      <figcaption>Answer rate per round</figcaption>
      <svg viewBox={`0 0 320 ${height}`} role="img" aria-label={`Answer rate per round: ${summary}`}>
        {rounds.map((round, index) => {
          const y = index * rowHeight + 2;
          return (
            <g key={round.label}>
              <text x="0" y={y + 16} class="chart-label">
                {round.label}
              </text>
              <rect x="80" y={y} width="190" height="20" class="chart-track" />
              <rect
                x="80"
                y={y}
                width={(190 * Math.min(100, round.percent)) / 100}
                height="20"
                class="chart-fill"
              />
              <text x="276" y={y + 16} class="chart-label">
                {round.percent}%
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

export interface TimeBucket {
  time: string | null;
  calls: number;
  byStatus: Record<string, number>;
}

const statusOrder = ['50', '40', '10', '20', '30', '60'];

export function CallsOverTimeChart({
  buckets,
  bucketSeconds,
}: {
  buckets: TimeBucket[];
  bucketSeconds: number;
}) {
  if (buckets.length === 0) return <p class="muted">No calls yet.</p>;
  const minutes = bucketSeconds / 60;
  const peak = Math.max(...buckets.map((bucket) => bucket.calls / minutes), 1);
  const width = 320;
  const height = 140;
  const barWidth = width / buckets.length;
  const totals = statusOrder
    .map((status) => [status, buckets.reduce((n, b) => n + (b.byStatus[status] ?? 0), 0)] as const)
    .filter(([, n]) => n > 0);
  const summary = `${buckets.length} periods of ${minutes} min, peak ${Math.round(peak)} calls per minute; outcomes: ${totals
    .map(([status, n]) => `${callStatusWords[Number(status)]} ${n}`)
    .join(', ')}`;
  return (
    <figure class="chart">
      <figcaption>
        Calls per minute and outcome mix (bars of {minutes} min, peak {Math.round(peak * 10) / 10}/min)
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={summary}>
        {buckets.map((bucket, index) => {
          let y = height;
          return (
            <g key={bucket.time ?? index}>
              {statusOrder.map((status) => {
                const count = bucket.byStatus[status] ?? 0;
                if (count === 0) return null;
                const h = (count / minutes / peak) * (height - 4);
                y -= h;
                return (
                  <rect
                    key={status}
                    x={index * barWidth}
                    y={y}
                    width={Math.max(1, barWidth - 1)}
                    height={h}
                    class={`status-${status}`}
                  />
                );
              })}
            </g>
          );
        })}
      </svg>
      <ul class="legend">
        {totals.map(([status, n]) => (
          <li key={status}>
            <span class={`swatch status-${status}`} aria-hidden="true" /> {callStatusWords[Number(status)]}:{' '}
            {n}
          </li>
        ))}
      </ul>
    </figure>
  );
}
