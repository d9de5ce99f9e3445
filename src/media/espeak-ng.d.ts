// The npm `espeak-ng` package ships no types; the engine narrows what it uses in espeak.ts.
declare module 'espeak-ng' {
  const factory: (options: Record<string, unknown>) => Promise<unknown>;
  export default factory;
}
