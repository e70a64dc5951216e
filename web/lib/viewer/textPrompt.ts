import { create } from 'zustand';

/** One pending request for an annotation's text (Cornerstone's arrow tool asks through a callback). */
interface TextPromptState {
  request: { id: number; initial: string; resolve: (text: string | null) => void } | null;
  ask: (initial: string) => Promise<string | null>;
  answer: (text: string | null) => void;
}

let nextId = 0;

export const useTextPrompt = create<TextPromptState>((set, get) => ({
  request: null,
  ask: (initial) =>
    new Promise((resolve) => {
      get().request?.resolve(null); // a new question cancels an unanswered one
      nextId += 1;
      set({ request: { id: nextId, initial, resolve } });
    }),
  answer: (text) => {
    const r = get().request;
    set({ request: null });
    r?.resolve(text === null ? null : text.trim() || null);
  },
}));

export function askText(initial: string): Promise<string | null> {
  return useTextPrompt.getState().ask(initial);
}
