// Reference encoder for the C# tokenizer tests. Reads one JSON request on stdin:
//   {"encoder": "gpt-3-encoder" | "gpt-tokenizer:<encoding>" | "tokenizer-json:<path>", "texts": ["..."]}
// and prints {"ids": [[...], ...]} (no special tokens added), one entry per text.
import { readFileSync } from "node:fs";

const request = JSON.parse(readFileSync(0, "utf8"));
const [kind, arg] = request.encoder.split(/:(.*)/s);

async function loadEncoder() {
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

const encode = await loadEncoder();
process.stdout.write(JSON.stringify({ ids: request.texts.map((t) => Array.from(encode(t))) }));
