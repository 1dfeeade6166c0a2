/**
 * The `%%mderive` language for CodeMirror 6: a StreamLanguage driven by the
 * pure tokenizer, with one highlight tag and one CSS class per token type.
 */
import {
  HighlightStyle,
  LanguageSupport,
  StreamLanguage,
  StringStream,
  syntaxHighlighting
} from '@codemirror/language';
import { Tag, tags } from '@lezer/highlight';

import { IToken, TokenType, tokenClass, tokenizeLine } from './tokenizer';

/**
 * One tag per token type.  Each is a sub-tag of a standard tag, so a theme
 * that knows nothing of this language still colours it sensibly; the
 * `mcm-*` classes below give the language's own, theme-aware colours.
 */
export const mderiveTags: Record<TokenType, Tag> = {
  magic: Tag.define(tags.processingInstruction),
  option: Tag.define(tags.attributeName),
  optionValue: Tag.define(tags.attributeValue),
  comment: Tag.define(tags.lineComment),
  declName: Tag.define(tags.variableName),
  size: Tag.define(tags.typeName),
  sizeSep: Tag.define(tags.operator),
  property: Tag.define(tags.modifier),
  defTarget: Tag.define(tags.variableName),
  operator: Tag.define(tags.operator),
  function: Tag.define(tags.name),
  request: Tag.define(tags.keyword),
  claim: Tag.define(tags.controlKeyword),
  number: Tag.define(tags.number),
  name: Tag.define(tags.variableName),
  punctuation: Tag.define(tags.punctuation)
};

/**
 * The token names the stream parser returns: prefixed, so that none is
 * mistaken for one of CodeMirror's legacy token names (`property`, ...).
 */
function streamName(type: TokenType): string {
  return 'mcm_' + type;
}

const tokenTable: Record<string, Tag> = Object.fromEntries(
  (Object.keys(mderiveTags) as TokenType[]).map(type => [
    streamName(type),
    mderiveTags[type]
  ])
);

/** Maps every tag to its `mcm-*` class (`mcm-decl-name`, ...). */
export const mderiveClassHighlighter = HighlightStyle.define(
  (Object.keys(mderiveTags) as TokenType[]).map(type => ({
    tag: mderiveTags[type],
    class: 'mcm-tok ' + tokenClass(type)
  }))
);

interface IStreamState {
  /** The line the tokens were computed for. */
  line: string | null;
  tokens: IToken[];
}

/** The language, for whole `%%mderive` cells. */
export const mderiveLanguage = StreamLanguage.define<IStreamState>({
  name: 'mderive',
  startState: () => ({ line: null, tokens: [] }),
  copyState: state => ({ line: state.line, tokens: state.tokens }),
  token(stream: StringStream, state: IStreamState): string | null {
    if (state.line !== stream.string) {
      state.line = stream.string;
      state.tokens = tokenizeLine(stream.string);
    }
    const pos = stream.pos;
    const next = state.tokens.find(t => t.to > pos);
    if (!next) {
      stream.skipToEnd();
      return null;
    }
    if (next.from > pos) {
      stream.pos = next.from;
      return null;
    }
    stream.pos = next.to;
    return streamName(next.type);
  },
  tokenTable,
  languageData: {
    commentTokens: { line: '#' }
  }
});

/** Language plus its class highlighter. */
export const mderiveSupport = new LanguageSupport(mderiveLanguage, [
  syntaxHighlighting(mderiveClassHighlighter)
]);
