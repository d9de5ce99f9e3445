/** Worker-thread entry for npm-path upload conversion (decode + resample are CPU-bound, seconds long). */
import { parentPort } from 'node:worker_threads';
import { MediaInputError } from './types.ts';
import { convertWithNpm, type UploadWorkerReply } from './upload.ts';

const port = parentPort;
if (!port) throw new Error('upload-worker must run in a worker thread');

port.on('message', async ({ id, request }: { id: number; request: Uint8Array }) => {
  let result: UploadWorkerReply;
  try {
    result = {
      converted: await convertWithNpm(Buffer.from(request.buffer, request.byteOffset, request.byteLength)),
    };
  } catch (error) {
    result =
      error instanceof MediaInputError
        ? { inputError: { field: error.field, message: error.message } }
        : { error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage({ id, result });
});
