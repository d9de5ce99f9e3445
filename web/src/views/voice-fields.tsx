/** The voice content of a task or a recall round (spec §2): a stored file, an upload, or text-to-speech with a listen button. */
import { useState } from 'preact/hooks';
import { messageOf } from '../api.ts';
import { useSession } from '../context.ts';

/** '' → absent; a number when it reads as one; else the text as typed, so the API's rule names it. */
export function numberField(value: string): number | string | undefined {
  if (value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : value;
}

export interface Language {
  lan: string;
  name: string;
  accents: Array<{ id: number; name: string; default: boolean }>;
  genders: number[];
  note?: string;
}

export interface VoiceChoice {
  source: '1' | '2' | '3';
  voiceFileId: string;
  text: string;
  lan: string;
  accent: string;
  gender: string;
  rate: string;
  upload: File | null;
}

export function readBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

/** The request fields for a voice choice. */
export async function voiceBody(choice: VoiceChoice, _prefix: string): Promise<Record<string, unknown>> {
  if (choice.source === '1')
    return { source: 1, ...(choice.voiceFileId ? { voiceFileId: choice.voiceFileId } : {}) };
  if (choice.source === '2') {
    return {
      source: 2,
      ...(choice.upload ? { uploadName: choice.upload.name, baseFile: await readBase64(choice.upload) } : {}),
    };
  }
  return {
    source: 3,
    text: choice.text,
    lan: choice.lan,
    ...(choice.accent ? { accent: numberField(choice.accent) } : {}),
    ...(choice.gender ? { ssmlGender: numberField(choice.gender) } : {}),
    speakingRate: numberField(choice.rate) ?? 1,
  };
}

export function VoiceFields(props: {
  idPrefix: string;
  fieldPrefix: string;
  value: VoiceChoice;
  onChange: (next: VoiceChoice) => void;
  languages: Language[];
  files: Array<{ fileId: string; fileName: string }>;
  sampleTexts: Record<string, string>;
}) {
  const { api } = useSession();
  const { idPrefix: id, fieldPrefix: field, value } = props;
  const set = (patch: Partial<VoiceChoice>) => props.onChange({ ...value, ...patch });
  const [audio, setAudio] = useState<string | null>(null);
  const [listenError, setListenError] = useState<string | null>(null);
  const [rendering, setRendering] = useState(false);
  const language = props.languages.find((row) => row.lan.toLowerCase() === value.lan.toLowerCase());

  const listen = async () => {
    setListenError(null);
    setRendering(true);
    try {
      const { calleeNumber: _number, ...texts } = props.sampleTexts;
      const blob = await api.blob('/voice/tts/preview', {
        ...(await voiceBody(value, field)),
        ...texts,
        source: undefined,
      });
      if (audio) URL.revokeObjectURL(audio);
      setAudio(URL.createObjectURL(blob));
    } catch (failure) {
      setListenError(messageOf(failure));
    } finally {
      setRendering(false);
    }
  };

  return (
    <div class="voice">
      <fieldset class="plain">
        <legend>Voice</legend>
        {(
          [
            ['3', 'Text-to-speech'],
            ['1', 'A stored voice file'],
            ['2', 'Upload a file now'],
          ] as const
        ).map(([source, label]) => (
          <label class="check" key={source}>
            <input
              type="radio"
              name={`${id}-source`}
              data-field={`${field}source`}
              checked={value.source === source}
              onChange={() => set({ source })}
            />{' '}
            {label}
          </label>
        ))}
      </fieldset>
      {value.source === '1' && (
        <div class="field">
          <label for={`${id}-file`}>Voice file</label>
          <select
            id={`${id}-file`}
            data-field={`${field}voiceFileId`}
            value={value.voiceFileId}
            onChange={(e) => set({ voiceFileId: e.currentTarget.value })}
          >
            <option value="">choose…</option>
            {props.files.map((file) => (
              <option key={file.fileId} value={file.fileId}>
                {file.fileName}
              </option>
            ))}
          </select>
        </div>
      )}
      {value.source === '2' && (
        <div class="field">
          <label for={`${id}-upload`}>Audio file (mp3, wav or m4a; name 5-32 characters)</label>
          <input
            id={`${id}-upload`}
            data-field={`${field}uploadName`}
            type="file"
            accept=".mp3,.wav,.m4a,audio/*"
            onChange={(e) => set({ upload: e.currentTarget.files?.[0] ?? null })}
          />
        </div>
      )}
      {value.source === '3' && (
        <>
          <div class="field">
            <label for={`${id}-text`}>
              Text (≤ 1000 characters; ${'{text1}'}…${'{text10}'} are filled per callee)
            </label>
            <textarea
              id={`${id}-text`}
              data-field={`${field}text`}
              value={value.text}
              onInput={(e) => set({ text: e.currentTarget.value })}
            />
          </div>
          <div class="grid">
            <div class="field">
              <label for={`${id}-lan`}>Language</label>
              <select
                id={`${id}-lan`}
                data-field={`${field}lan`}
                value={language?.lan ?? value.lan}
                onChange={(e) => set({ lan: e.currentTarget.value, accent: '' })}
              >
                {props.languages.length === 0 && <option value={value.lan}>{value.lan}</option>}
                {props.languages.map((row) => (
                  <option key={row.lan} value={row.lan}>
                    {row.name} ({row.lan})
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for={`${id}-accent`}>Accent</label>
              <select
                id={`${id}-accent`}
                data-field={`${field}accent`}
                value={value.accent}
                onChange={(e) => set({ accent: e.currentTarget.value })}
              >
                <option value="">default</option>
                {language?.accents.map((accent) => (
                  <option key={accent.id} value={accent.id}>
                    {accent.name}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for={`${id}-gender`}>Voice</label>
              <select
                id={`${id}-gender`}
                data-field={`${field}ssmlGender`}
                value={value.gender}
                onChange={(e) => set({ gender: e.currentTarget.value })}
              >
                <option value="">default (female)</option>
                <option value="2">female</option>
                <option value="1">male</option>
              </select>
            </div>
            <div class="field">
              <label for={`${id}-rate`}>Speaking rate (0.25-4)</label>
              <input
                id={`${id}-rate`}
                data-field={`${field}speakingRate`}
                inputMode="decimal"
                value={value.rate}
                onInput={(e) => set({ rate: e.currentTarget.value })}
              />
            </div>
          </div>
          {language?.note && <p class="muted">{language.note}</p>}
          <p class="actions">
            <button type="button" class="secondary" id={`${id}-listen`} disabled={rendering} onClick={listen}>
              {rendering ? 'Rendering…' : 'Listen'}
            </button>
            {audio && (
              // biome-ignore lint/a11y/useMediaCaption: a synthesized prompt of the text shown just above
              <audio id={`${id}-audio`} controls autoPlay src={audio} />
            )}
          </p>
          <p class="error" role="alert">
            {listenError ?? ''}
          </p>
        </>
      )}
    </div>
  );
}
