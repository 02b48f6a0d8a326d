using System.Globalization;

namespace Ai.Gateway.Tools.BuiltIn;

/// <summary>A calculator expression could not be evaluated; the message says where and why.</summary>
public sealed class CalculatorException(string message) : Exception(message);

internal enum TokenKind
{
    Number,
    Identifier,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Caret,
    LeftParen,
    RightParen,
    Comma,
    End,
}

/// <param name="Position">1-based position of the token's first character.</param>
internal readonly record struct Token(TokenKind Kind, int Position, string Text, double Number = 0);

/// <summary>Splits an expression into numbers, names, operators and parentheses; anything else is an error.</summary>
internal static class CalculatorTokenizer
{
    public static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1])))
            {
                tokens.Add(ReadNumber(text, ref i));
            }
            else if (char.IsAsciiLetter(c) || c == '_')
            {
                var start = i;
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Identifier, start + 1, text[start..i]));
            }
            else
            {
                tokens.Add(new Token(Operator(c, i + 1), i + 1, c.ToString()));
                i++;
            }
        }

        tokens.Add(new Token(TokenKind.End, text.Length + 1, ""));
        return tokens;
    }

    private static TokenKind Operator(char c, int position) => c switch
    {
        '+' => TokenKind.Plus,
        '-' => TokenKind.Minus,
        '*' => TokenKind.Star,
        '/' => TokenKind.Slash,
        '%' => TokenKind.Percent,
        '^' => TokenKind.Caret,
        '(' => TokenKind.LeftParen,
        ')' => TokenKind.RightParen,
        ',' => TokenKind.Comma,
        _ => throw new CalculatorException($"Unexpected character '{c}' at position {position}."),
    };

    // digits [. digits] [e [+-] digits], or . digits [...]
    private static Token ReadNumber(string text, ref int i)
    {
        var start = i;
        SkipDigits(text, ref i);
        if (i < text.Length && text[i] == '.')
        {
            i++;
            SkipDigits(text, ref i);
        }

        if (i < text.Length && text[i] is 'e' or 'E')
        {
            i++;
            if (i < text.Length && text[i] is '+' or '-')
            {
                i++;
            }

            if (i >= text.Length || !char.IsAsciiDigit(text[i]))
            {
                throw new CalculatorException($"Malformed number '{text[start..i]}' at position {start + 1}: the exponent has no digits.");
            }

            SkipDigits(text, ref i);
        }

        if (i < text.Length && (text[i] == '.' || char.IsAsciiLetter(text[i]) || text[i] == '_'))
        {
            throw new CalculatorException($"Malformed number at position {start + 1}: unexpected '{text[i]}' at position {i + 1}.");
        }

        var value = double.Parse(text.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture);
        if (double.IsInfinity(value))
        {
            throw new CalculatorException($"The number at position {start + 1} is too large.");
        }

        return new Token(TokenKind.Number, start + 1, text[start..i], value);
    }

    private static void SkipDigits(string text, ref int i)
    {
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            i++;
        }
    }
}
