/** Voice files: list, upload, play, delete (the API refuses, with its reason, while a task uses the file). */
import { useEffect, useState } from 'preact/hooks';
import { messageOf, type Page } from '../api.ts';
import { useSession } from '../context.ts';
import { ErrorText, PageTitle, TableWrap } from '../ui.tsx';
import { readBase64 } from './voice-fields.tsx';

interface VoiceFile {
  fileId: string;
  fileName: string;
  duration: number;
  size: number;
  createdTime: string;
}

export function VoiceFilesPage() {
  const { api } = useSession();
  const [page, setPage] = useState<Page<VoiceFile> | null>(null);
  const [current, setCurrent] = useState(1);
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [playing, setPlaying] = useState<{ id: string; url: string } | null>(null);
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');

  useEffect(() => {
    api
      .call<Page<VoiceFile>>('/voice/fileQuery', { current, size: 20 })
      .then(setPage)
      .catch((failure) => setError(messageOf(failure)));
  }, [api, current, version]);

  const play = async (id: string) => {
    try {
      const blob = await api.blob(`/voice/fileAudio/${id}`);
      if (playing) URL.revokeObjectURL(playing.url);
      setPlaying({ id, url: URL.createObjectURL(blob) });
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  const remove = async (record: VoiceFile) => {
    setNotice(null);
    try {
      await api.call('/voice/fileDel', { fileIdList: [Number(record.fileId)] });
      setNotice(`Deleted ${record.fileName}.`);
      setError(null);
      setVersion((n) => n + 1);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  const upload = async (event: Event) => {
    event.preventDefault();
    if (!file) return;
    try {
      await api.call('/voice/fileUpload', {
        fileName: name.trim() || file.name,
        file: await readBase64(file),
      });
      setNotice(`Uploaded ${name.trim() || file.name}.`);
      setError(null);
      setVersion((n) => n + 1);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };

  return (
    <section>
      <PageTitle>Voice files</PageTitle>
      <form class="filters" onSubmit={upload}>
        <div class="field">
          <label for="upload-file">Audio file (mp3, wav or m4a)</label>
          <input
            id="upload-file"
            type="file"
            accept=".mp3,.wav,.m4a,audio/*"
            onChange={(e) => {
              const chosen = e.currentTarget.files?.[0] ?? null;
              setFile(chosen);
              if (chosen && !name) setName(chosen.name);
            }}
          />
        </div>
        <div class="field">
          <label for="upload-name">File name (5-32 characters, with extension)</label>
          <input id="upload-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <button type="submit" disabled={!file}>
          Upload
        </button>
      </form>
      <ErrorText error={error} />
      <p class="notice" role="status">
        {notice ?? ''}
      </p>
      {playing && (
        // biome-ignore lint/a11y/useMediaCaption: a recorded prompt; the operator's own file
        <audio id="file-audio" controls autoPlay src={playing.url} />
      )}
      <TableWrap label="Voice files">
        <table id="voice-files">
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Name</th>
              <th scope="col">Length s</th>
              <th scope="col">Size</th>
              <th scope="col">Uploaded</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {page?.records.length === 0 && (
              <tr>
                <td colSpan={6} class="muted">
                  No voice files yet.
                </td>
              </tr>
            )}
            {page?.records.map((record) => (
              <tr key={record.fileId} data-file-id={record.fileId}>
                <td>{record.fileId}</td>
                <td>{record.fileName}</td>
                <td>{record.duration}</td>
                <td>{Math.round(record.size / 1024)} KB</td>
                <td class="muted">{record.createdTime}</td>
                <td class="actions">
                  <button type="button" class="secondary" onClick={() => play(record.fileId)}>
                    Play <span class="sr-only">{record.fileName}</span>
                  </button>
                  <button type="button" class="danger" onClick={() => remove(record)}>
                    Delete <span class="sr-only">{record.fileName}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      {page && page.pages > 1 && (
        <nav class="pager" aria-label="Voice file pages">
          <button
            type="button"
            class="secondary"
            disabled={current <= 1}
            onClick={() => setCurrent(current - 1)}
          >
            Previous
          </button>
          <span>
            Page {current} of {page.pages}
          </span>
          <button
            type="button"
            class="secondary"
            disabled={current >= page.pages}
            onClick={() => setCurrent(current + 1)}
          >
            Next
          </button>
        </nav>
      )}
    </section>
  );
}
