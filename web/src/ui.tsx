/** Small shared pieces of the console's pages. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

/** A page's heading, focused when the page opens so keyboard and screen-reader users land on it. */
export function PageTitle({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h1 ref={ref} tabIndex={-1} class="page-title">
      {children}
    </h1>
  );
}

export function ErrorText({ error, id }: { error: string | null; id?: string }) {
  return (
    <p class="error" role="alert" id={id}>
      {error ?? ''}
    </p>
  );
}

/** A number the tests compare with the API: `check` names what it shows. */
export function Num({ check, value }: { check: string; value: number | string | null | undefined }) {
  return <span data-check={check}>{value === null || value === undefined ? '—' : String(value)}</span>;
}

export function Bar({ percent, label }: { percent: number; label: string }) {
  return (
    <div
      class="bar"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent}
      title={`${percent}%`}
    >
      <div style={{ width: `${Math.min(100, percent)}%` }} />
    </div>
  );
}

export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
    <section class="table-wrap" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}

/** Saves a Blob as a file the way a download link would. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
