/** Worker-thread entry of WasmEspeakPool: one warm WebAssembly eSpeak NG serving renders one at a time. */
import { parentPort } from 'node:worker_threads';
import { WasmEspeak, type WorkerReply, type WorkerRequest } from './espeak.ts';

const port = parentPort;
if (!port) throw new Error('espeak-worker must run in a worker thread');
const engine = new WasmEspeak();
const send = (reply: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

engine.warm().then(
  () => send({ ready: true }),
  (error: unknown) => send({ startError: String(error) }),
);

port.on('message', async (request: WorkerRequest) => {
  try {
    let samples = await engine.synthesize(request.text, request.voice);
    // Transferred, not copied; a view into a shared (pooled) buffer is copied first so nothing else detaches.
    if (samples.byteOffset !== 0 || samples.buffer.byteLength !== samples.byteLength)
      samples = samples.slice();
    send({ id: request.id, samples }, [samples.buffer as ArrayBuffer]);
  } catch (error) {
    send({ id: request.id, error: error instanceof Error ? error.message : String(error) });
  }
});
