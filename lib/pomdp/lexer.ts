/**
 * The tokens of a `.pomdp` text, produced on demand: the parser looks a few tokens ahead and
 * consumes them, so memory holds the text and a small window, not one object per number of a
 * file with millions of them. Internal to lib/pomdp.
 *
 * @module
 */

/** A word or ':' with its 1-based line. */
export interface Token {
  /** The token's text. */
  text: string;
  /** 1-based line number. */
  line: number;
}

/** `#` comments to the end of the line, line breaks, ':' and words (anything else but spaces). */
const TOKEN_RE = /#[^\r\n]*|\r\n|\r|\n|:|[^\s:#]+/g;

/** A lexer with unbounded lookahead over the tokens of one text. */
export class Lexer {
  private readonly re = new RegExp(TOKEN_RE);
  private line = 1;
  private ended = false;
  private buf: Token[] = [];
  private head = 0;
  /** Line of the last token read from the text so far (0 before the first). */
  lastLine = 0;

  /** A lexer over `text`. */
  constructor(private readonly text: string) {}

  /** Read one more token into the window; false at the end of the text. */
  private pull(): boolean {
    while (!this.ended) {
      const m = this.re.exec(this.text);
      if (m === null) {
        this.ended = true;
        break;
      }
      const t = m[0];
      if (t === "\n" || t === "\r" || t === "\r\n") this.line++;
      else if (t[0] !== "#") {
        this.buf.push({ text: t, line: this.line });
        this.lastLine = this.line;
        return true;
      }
    }
    return false;
  }

  /** The token `offset` places ahead (undefined past the end). */
  peek(offset = 0): Token | undefined {
    while (this.buf.length - this.head <= offset) if (!this.pull()) return undefined;
    return this.buf[this.head + offset];
  }

  /** Consume the current token. */
  advance(): void {
    if (this.peek() === undefined) return;
    this.head++;
    if (this.head >= 4096 && this.head * 2 >= this.buf.length) {
      this.buf = this.buf.slice(this.head);
      this.head = 0;
    }
  }

  /** Whether every token was consumed. */
  done(): boolean {
    return this.peek() === undefined;
  }

  /** Line of the last token of the whole text (reads to the end; 0 for a text without tokens). */
  finalLine(): number {
    while (this.pull());
    return this.lastLine;
  }
}
