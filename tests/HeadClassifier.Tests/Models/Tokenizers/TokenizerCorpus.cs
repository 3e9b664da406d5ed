namespace HeadClassifier.Tests.Models.Tokenizers;

/// <summary>Texts every tokenizer is compared on: scripts, emoji, whitespace, numbers, contractions, code, words.</summary>
public static class TokenizerCorpus
{
    public static readonly string[] Words =
    [
        "the", "of", "and", "Paris", "London", "running", "jumped", "unbelievable", "tokenization", "cat", "dog", "Lily",
        "happy", "quickly", "beautiful", "government", "January", "Monday", "France", "French", "Einstein", "water",
        "seven", "hundred", "king", "queen", "apple", "Apple", "USA", "HTTP", "JavaScript", "blue", "green", "bigger",
        "smallest", "children", "mouse", "mice", "went", "ate", "café", "naïve", "über", "Zürich", "Москва", "東京",
        "日本語", "مرحبا", "42", "2024", "🙂",
    ];

    public static readonly string[] Sentences =
    [
        "Hello, world! This is a test.",
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.",
        "It's, it'S, you're, we've, I'm, they'll, she'd, don't, can't, IT'S, WE'VE, I'M, THEY'LL, SHE'D, DON'T",
        "Café naïve résumé façade Ærøskøbing Ångström coöperate",
        "日本語のテキストと中文文本, 한국어 텍스트",
        "مرحبا بالعالم. العربية تكتب من اليمين",
        "Привет, мир! Ελληνικά κείμενα.",
        "emoji 😀😃 👍🏽 🇫🇷 👨‍👩‍👧‍👦 ❤️ done",
        "🙂abc 𝐀𝐁𝐂 bold 𠀀𠀁 ext-B 🎉🎉🎉",
        // Letters and digits outside the BMP next to ASCII: split differently if matched as UTF-16 code units.
        "𝐀's 𝒜𝒷𝒸's 𠀀's 𝟏𝟐𝟑𝟒123 𝟏𝟐𝟑𝟒s",
        "   leading spaces and trailing spaces   ",
        "tabs\tand\t\ttabs\nnewlines\n\n\nand\r\nCRLF\n",
        "mixed \t \n  whitespace   \n\t runs",
        "1234567890 3.14159 1,000,000 00042 123456789012345678901234567890",
        "def foo(x):\n    return x ** 2  # square\n\nprint(foo(3))",
        "for (int i = 0; i < n; i++) { sum += a[i]; } // C#",
        "<html><body class=\"main\">&amp; &lt;tag&gt;</body></html>",
        "https://example.com/path?query=1&x=y#frag user@mail.org",
        "ALL CAPS SENTENCE WITH NUMBERS 123 AND SYMBOLS !@#$%^&*()",
        "a",
        " ",
        "\n",
        "",
    ];

    /// <summary>Every sentence, each word with a leading space (the in-sentence form), and each word alone.</summary>
    public static IReadOnlyList<string> All { get; } =
        Sentences.Concat(Words.Select(w => " " + w)).Concat(Words).ToArray();
}
