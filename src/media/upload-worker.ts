/** Worker-thread entry for npm-path upload conversion (decode + resample are CPU-bound, seconds long). */
import { parentPort } from 'node:worker_threads';
import { MediaInputError } from './types.ts';
import { convertWithNpm, type UploadWorkerReply, type UploadWorkerRequest } from './upload.ts';

const port = parentPort;
if (!port) throw new Error('upload-worker must run in a worker thread');

port.on('message', async ({ id, request }: { id: number; request: UploadWorkerRequest }) => {
  let result: UploadWorkerReply;
  try {
    const { data, limits } = request;
    result = {
      converted: await convertWithNpm(Buffer.from(data.buffer, data.byteOffset, data.byteLength), limits),
    };
  } catch (error) {
    result =
      error instanceof MediaInputError
        ? { inputError: { field: error.field, message: error.message } }
        : { error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage({ id, result });
});
