package dev.rotor.csds;

/**
 * An upper bound of how big a program RE2 compiles a pattern to, read from the pattern's text
 * without compiling it. RE2/J matches in linear time, but compiling is not bounded: counted
 * repetitions multiply ({@code ((a{1000}){1000}){1000}}, 23 characters, exhausted a 512 MB heap), and
 * RE2/J has no program-size limit of its own. So a pattern is measured first, and refused when big.
 *
 * <p>The measure: a literal, class or escape is 1; a sequence or alternation the sum of its parts;
 * {@code x{n,m}} is {@code size(x) × max(n, m)}; {@code * + ?} add 1; a group adds 1. Anything this
 * reader does not recognize counts as 1 per character, so it overestimates rather than misses.
 */
final class RegexSize {

  /** Sizes stop growing here: a bigger one is refused anyway, and the arithmetic cannot overflow. */
  private static final long SATURATED = Long.MAX_VALUE / 4;

  private final String re;
  private int pos;

  private RegexSize(String re) {
    this.re = re;
  }

  static long of(String pattern) {
    RegexSize r = new RegexSize(pattern);
    long total = 0;
    while (r.pos < r.re.length()) {
      total = add(total, r.alternation());
      if (r.pos < r.re.length()) {
        r.pos++; // an unbalanced ')': RE2 will refuse the pattern; count it and go on
        total = add(total, 1);
      }
    }
    return total;
  }

  private long alternation() {
    long total = sequence();
    while (pos < re.length() && re.charAt(pos) == '|') {
      pos++;
      total = add(total, add(sequence(), 1));
    }
    return total;
  }

  private long sequence() {
    long total = 0;
    while (pos < re.length() && re.charAt(pos) != '|' && re.charAt(pos) != ')') {
      total = add(total, repeated(atom()));
    }
    return total;
  }

  private long atom() {
    char c = re.charAt(pos++);
    switch (c) {
      case '(':
        if (pos < re.length() && re.charAt(pos) == '?') {
          while (pos < re.length() && re.charAt(pos) != ':' && re.charAt(pos) != ')') {
            pos++; // flags or a group name: (?i) (?:...) (?P<name>...)
          }
          if (pos < re.length() && re.charAt(pos) == ')') {
            pos++;
            return 0; // (?i): flags only
          }
          pos++; // ':'
        }
        long inner = alternation();
        if (pos < re.length()) {
          pos++; // ')'
        }
        return add(inner, 1);
      case '[':
        skipClass();
        return 1;
      case '\\':
        return escape();
      default:
        return 1;
    }
  }

  private long escape() {
    if (pos >= re.length()) {
      return 1;
    }
    char e = re.charAt(pos++);
    if (e == 'Q') { // \Q...\E: every character a literal
      int end = re.indexOf("\\E", pos);
      int stop = end < 0 ? re.length() : end;
      long literal = stop - pos;
      pos = end < 0 ? re.length() : end + 2;
      return Math.max(1, literal);
    }
    if ((e == 'p' || e == 'P' || e == 'x') && pos < re.length() && re.charAt(pos) == '{') {
      int end = re.indexOf('}', pos);
      pos = end < 0 ? re.length() : end + 1;
    }
    return 1;
  }

  private void skipClass() {
    if (pos < re.length() && re.charAt(pos) == '^') {
      pos++;
    }
    if (pos < re.length() && re.charAt(pos) == ']') {
      pos++; // a leading ']' is a literal
    }
    while (pos < re.length() && re.charAt(pos) != ']') {
      if (re.charAt(pos) == '\\') {
        pos++;
      } else if (re.startsWith("[:", pos)) {
        int end = re.indexOf(":]", pos + 2);
        if (end >= 0) {
          pos = end + 1;
        }
      }
      pos++;
    }
    pos++; // ']'
  }

  private long repeated(long item) {
    while (pos < re.length()) {
      char c = re.charAt(pos);
      if (c == '*' || c == '+' || c == '?') {
        pos++;
        item = add(item, 1);
      } else if (c == '{') {
        long times = counted();
        if (times < 0) {
          return item; // not a repetition: RE2 reads the '{' as a literal, the next atom
        }
        item = add(multiply(item, Math.max(1, times)), 1);
      } else {
        return item;
      }
      if (pos < re.length() && re.charAt(pos) == '?') {
        pos++; // non-greedy
      }
    }
    return item;
  }

  /** At a '{': reads {n}, {n,} or {n,m} and returns its largest count, or -1 (nothing consumed) if it is none of them. */
  private long counted() {
    int i = pos + 1;
    long n = 0;
    long m = -1;
    int digits = 0;
    while (i < re.length() && Character.isDigit(re.charAt(i))) {
      n = Math.min(SATURATED, n * 10 + (re.charAt(i++) - '0'));
      digits++;
    }
    if (digits == 0) {
      return -1;
    }
    if (i < re.length() && re.charAt(i) == ',') {
      i++;
      m = 0;
      while (i < re.length() && Character.isDigit(re.charAt(i))) {
        m = Math.min(SATURATED, m * 10 + (re.charAt(i++) - '0'));
      }
    }
    if (i >= re.length() || re.charAt(i) != '}') {
      return -1;
    }
    pos = i + 1;
    return Math.max(n, m);
  }

  private static long add(long a, long b) {
    return Math.min(SATURATED, a + b);
  }

  private static long multiply(long a, long b) {
    return a == 0 || b <= SATURATED / a ? Math.min(SATURATED, a * b) : SATURATED;
  }
}
