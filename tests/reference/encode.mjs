// Reference encoder for the C# tokenizer tests. Reads one JSON request on stdin:
//   {"encoder": "gpt-3-encoder" | "gpt-tokenizer:<encoding>" | "tokenizer-json:<path>" | "llama-tokenizer-js", "texts": ["..."]}
// and prints {"ids": [[...], ...]} (no special tokens added), one entry per text.
// {"dump": "llama-tokenizer-js"} prints the real Llama-2 vocabulary (by id) and merges (in rank order) it embeds:
// {"vocab": ["<unk>", ...], "merges": [["▁", "t"], ...]}.
import { readFileSync } from "node:fs";

const request = JSON.parse(readFileSync(0, "utf8"));

if (request.dump === "llama-tokenizer-js") {
  const { default: llama } = await import("llama-tokenizer-js");
  const merges = [...llama.merges.entries()].sort((a, b) => a[1] - b[1]).map(([pair]) => pair.split(" "));
  process.stdout.write(JSON.stringify({ vocab: llama.vocabById, merges }));
} else {
  const encode = await loadEncoder(...request.encoder.split(/:(.*)/s));
  process.stdout.write(JSON.stringify({ ids: request.texts.map((t) => Array.from(encode(t))) }));
}

async function loadEncoder(kind, arg) {
  switch (kind) {
    case "gpt-3-encoder": {
      const { default: gpt3 } = await import("gpt-3-encoder");
      return (text) => gpt3.encode(text);
    }
    case "gpt-tokenizer": {
      const { encode } = await import(`gpt-tokenizer/encoding/${arg}`);
      // Special-token text is encoded as ordinary text, as the C# tokenizer does.
      return (text) => encode(text, { disallowedSpecial: new Set() });
    }
    case "llama-tokenizer-js": {
      const { default: llama } = await import("llama-tokenizer-js");
      // No BOS; the preceding space is SentencePiece's dummy prefix, as tokenizer.json's Prepend normalizer adds it.
      return (text) => llama.encode(text, false, true);
    }
    case "tokenizer-json": {
      const { TokenizerLoader } = await import("@lenml/tokenizers");
      const tokenizer = TokenizerLoader.fromPreTrained({
        tokenizerJSON: JSON.parse(readFileSync(arg, "utf8")),
        tokenizerConfig: {},
      });
      return (text) => tokenizer.encode(text, { add_special_tokens: false });
    }
    default:
      throw new Error(`unknown encoder ${request.encoder}`);
  }
}
