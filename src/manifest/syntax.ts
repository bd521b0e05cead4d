/**
 * YAML syntax errors (pure): the parser's errors → what we tell the user, in
 * our own words for each error code. The parser's own messages quote source
 * text and tokens (which may be secrets), so they are never shown; they are
 * only looked at to tell apart a few cases that share a code.
 */
type Refinement = readonly [clue: string, message: string];

interface Wording { message: string; refinements?: readonly Refinement[] }

/** Our message for each of the parser's error codes (yaml's `ErrorCode`). */
const WORDING: Readonly<Record<string, Wording>> = {
  ALIAS_PROPS: { message: 'an alias (*name) cannot carry an anchor or a tag' },
  BAD_ALIAS: { message: 'an anchor or alias has an empty or ambiguous name' },
  BAD_COLLECTION_TYPE: { message: 'the tag of a collection does not fit it' },
  BAD_DIRECTIVE: { message: 'a directive (a line starting with %) is malformed or misplaced' },
  BAD_DQ_ESCAPE: { message: 'a double-quoted string holds an invalid escape sequence (after a backslash)' },
  BAD_INDENT: {
    message: 'bad indentation: this line does not line up with the block it belongs to',
    refinements: [
      ['Flow map', 'a flow map ({ … }) is not closed with "}", or a line inside it is not indented enough'],
      ['Flow sequence', 'a flow list ([ … ]) is not closed with "]", or a line inside it is not indented enough'],
      ['must start at the same column', 'the items of a map or a list must all start at the same column'],
    ],
  },
  BAD_PROP_ORDER: { message: 'an anchor (&name) or tag (!tag) is misplaced: it must come before the value' },
  BAD_SCALAR_START: { message: 'a plain value cannot start with a reserved character (@, `, or -, ?, : without a space after them); quote the value' },
  BLOCK_AS_IMPLICIT_KEY: {
    message: 'a list or map cannot be used as a key; is a colon misplaced or a line badly indented?',
    refinements: [['Nested mappings', 'a map cannot start on the same line as its key: quote a value that holds ": ", and check the indentation of the lines after it']],
  },
  BLOCK_IN_FLOW: { message: 'an indented list or map cannot appear inside a flow collection ([ … ] or { … })' },
  DUPLICATE_KEY: { message: 'duplicate key: the keys of a map must be unique' },
  IMPOSSIBLE: { message: 'the YAML parser could not read this' },
  KEY_OVER_1024_CHARS: { message: 'a key is longer than 1024 characters' },
  MISSING_CHAR: {
    message: 'a closing bracket, brace or quote, or another indicator, is missing',
    refinements: [
      ['quote', 'a quoted string is not closed: its closing quote is missing'],
      ['followed by map values', 'a key is not followed by a colon and its value ("key: value")'],
      ['Missing , or :', 'the items of a flow collection must be separated by commas, and keys followed by colons'],
      ['Missing ,', 'the items of a flow collection ([ … ] or { … }) must be separated by commas'],
      ['Missing space after :', 'a colon in a flow collection must be followed by a space'],
      ['Comments must be separated', 'a comment (#) must be separated from what precedes it by a space'],
      ['Tags and anchors must be separated', 'a tag (!tag) or anchor (&name) must be followed by a space'],
      ['without - indicator', 'a list item lacks its "- " indicator'],
      ['directives-end', 'directives (lines starting with %) must be followed by a "---" line'],
    ],
  },
  MULTILINE_IMPLICIT_KEY: { message: 'a key spans several lines; is a colon missing, or a value badly indented?' },
  MULTIPLE_ANCHORS: { message: 'a value has more than one anchor (&name)' },
  MULTIPLE_DOCS: { message: 'the file holds several documents where one is expected' },
  MULTIPLE_TAGS: { message: 'a value has more than one tag (!tag)' },
  NON_STRING_KEY: { message: 'keys must be strings' },
  RESOURCE_EXHAUSTION: { message: 'the document is nested too deeply to read' },
  TAB_AS_INDENT: { message: 'a tab is used for indentation; indent with spaces' },
  TAG_RESOLVE_FAILED: { message: 'a tag uses a handle (!name!) that no %TAG directive declares' },
  UNEXPECTED_TOKEN: {
    message: 'unexpected content here; check the indentation, colons, dashes and quotes around it',
    refinements: [
      ['Block scalar header', 'the header of a block text (after | or >) holds extra characters'],
      ['at node end', 'unexpected content after a complete value; check the indentation of this line'],
      ['empty item', 'an empty item in a flow collection (two commas in a row?)'],
    ],
  },
};

/** Our message for one of the parser's errors; its own message is only matched against known clues, never shown. */
export function describeSyntaxError(code: string, parserMessage: string): string {
  const wording = WORDING[code];
  if (!wording) return 'the YAML is not well-formed here';
  for (const [clue, message] of wording.refinements ?? []) if (parserMessage.includes(clue)) return message;
  return wording.message;
}

/** The error that comes first in the text (by offset). */
export function firstError<E extends { offset: number }>(errors: readonly E[]): E | undefined {
  let first: E | undefined;
  for (const e of errors) if (!first || e.offset < first.offset) first = e;
  return first;
}
