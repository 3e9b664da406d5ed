using System.CommandLine;
using HeadClassifier.Core;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Onnx;
using HeadClassifier.Onnx.Sessions;

namespace HeadClassifier.Cli.Commands;

public static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "An exported model directory (model.onnx + tokenizer) or model.onnx" };
        var prompt = new Option<string?>("--prompt") { Description = "Text to continue; default: start from the BOS token alone" };
        var steps = new Option<int>("--steps") { Description = "Tokens to generate", DefaultValueFactory = _ => 64 };
        var bos = new Option<int?>("--bos") { Description = "Token id prepended to the prompt (default 1, llama-style BOS; -1 for none)" };
        var providers = new Option<string>("--providers") { Description = "Execution providers in order of preference, e.g. cuda:0,cpu", DefaultValueFactory = _ => "cpu" };
        var threads = new Option<int>("--threads") { Description = "ORT intra-op threads (0: one per core)" };
        var cmd = new Command("generate", "Greedy decoding with ONNX Runtime on an exported model") { model, prompt, steps, bos, providers, threads };
        cmd.SetAction((parse, ct) => CliCommands.Guard(token =>
        {
            string path = parse.GetValue(model)!;
            int n = parse.GetValue(steps);
            if (n < 0) throw new InvalidInputException("--steps", "must be non-negative");
            IReadOnlyList<ExecutionProvider> list;
            try
            {
                list = ExecutionProvider.ParseList(parse.GetValue(providers)!);
            }
            catch (ArgumentException e)
            {
                throw new InvalidInputException("--providers", e.Message);
            }
            var tokenizer = TokenizerLoader.Load(Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path))!);
            using var lm = OnnxLanguageModel.Open(path, new OrtOptions { Providers = list, IntraOpThreads = parse.GetValue(threads) });
            int bosId = parse.GetValue(bos) ?? 1;
            var start = new List<int>();
            if (bosId >= 0) start.Add(bosId);
            if (parse.GetValue(prompt) is { Length: > 0 } text) start.AddRange(tokenizer.Encode(text));
            if (start.Count == 0) throw new InvalidInputException("--prompt", "nothing to start from: give a prompt or a BOS id");
            foreach (var warning in lm.Session.Warnings) Console.Error.WriteLine("warning: " + warning);
            var tokens = lm.Greedy(start.ToArray(), n, token);
            int skip = bosId >= 0 ? 1 : 0;
            Console.WriteLine(tokenizer.Decode(tokens.AsSpan(skip)));
            Console.Error.WriteLine($"[{tokens.Length - start.Count} tokens on {lm.Session.Provider}, ONNX Runtime {ProviderSession.RuntimeVersion()}]");
            return Task.FromResult(0);
        }, ct));
        return cmd;
    }
}
