// Attribution formulas in the syntax of evalexpr (the Rust plugin's expression language), parsed by jsep
// and compiled to closures over an array of numbers: no eval, no Function. Both threads: the definition
// compiles each formula to report mistakes at config time, the transform compiles it to evaluate it.

import jsep from 'jsep';

/** A formula that does not parse or does not type-check; the message says where when it can. */
export class FormulaError extends Error {
  override readonly name = 'FormulaError';
}

/** ` at character N` (1-based), or nothing when the place is unknown. */
const at = (position: number | undefined): string => (position === undefined ? '' : ` at character ${position}`);

export interface Formula {
  /** The value of the formula for `values[i]` bound to variable i; NaN or ±Infinity when the arithmetic gives it. */
  evaluate(values: ArrayLike<number>): number;
}

// evalexpr's operators and precedence (from loosest to tightest): || && comparisons + - * / % ^; a prefix
// - or ! binds tighter than * and looser than ^. jsep is configured once, for this module's use only.
for (const op of Object.keys(jsep.binary_ops)) jsep.removeBinaryOp(op);
const BINARY: ReadonlyArray<[string, number]> = [
  ['||', 1],
  ['&&', 2],
  ['==', 3],
  ['!=', 3],
  ['<', 3],
  ['>', 3],
  ['<=', 3],
  ['>=', 3],
  ['+', 4],
  ['-', 4],
  ['*', 5],
  ['/', 5],
  ['%', 5],
  ['^', 6],
];
for (const [op, precedence] of BINARY) jsep.addBinaryOp(op, precedence);
jsep.removeAllUnaryOps();
jsep.removeLiteral('null');
// evalexpr's built-in functions live in namespaces: math::ln, math::sqrt.
jsep.addIdentifierChar(':');
// A prefix - or ! applies to what follows it up to the next operator looser than ^, so -x^2 is -(x^2) as in
// evalexpr (jsep's own unary operators bind tightest of all).
jsep.hooks.add('gobble-token', function prefixOperator(env) {
  const operator = this.char;
  if (operator !== '-' && operator !== '!') return;
  this.index++;
  let argument = this.gobbleToken();
  if (!argument) this.throwError(`Expected an operand after ${operator}`);
  for (;;) {
    this.gobbleSpaces();
    if (this.char !== '^') break;
    this.index++;
    const right = this.gobbleToken();
    if (!right) this.throwError('Expected expression after ^');
    argument = { type: 'BinaryExpression', operator: '^', left: argument, right };
  }
  env.node = { type: 'UnaryExpression', operator, argument, prefix: true };
});

type Type = 'number' | 'boolean';
type Fn = (v: ArrayLike<number>) => number | boolean;
interface Compiled {
  readonly type: Type;
  readonly fn: Fn;
}

/** Rust's f64::round: halves away from zero (Math.round takes them up). */
const roundHalfAway = (x: number): number => (x < 0 ? -Math.round(-x) : Math.round(x));
const MIN_NORMAL = 2.2250738585072014e-308;

interface FunctionSpec {
  /** Number of arguments; undefined for one or more. */
  readonly arity?: number;
  readonly returns: Type;
  readonly apply: (...args: number[]) => number | boolean;
}

const number1 = (apply: (x: number) => number): FunctionSpec => ({ arity: 1, returns: 'number', apply });
const number2 = (apply: (x: number, y: number) => number): FunctionSpec => ({ arity: 2, returns: 'number', apply });
const test1 = (apply: (x: number) => boolean): FunctionSpec => ({ arity: 1, returns: 'boolean', apply });

/** evalexpr's numeric built-ins (`if` is compiled on its own: it takes a condition). */
const FUNCTIONS: Readonly<Record<string, FunctionSpec>> = {
  min: { returns: 'number', apply: (...xs) => Math.min(...xs) },
  max: { returns: 'number', apply: (...xs) => Math.max(...xs) },
  floor: number1(Math.floor),
  round: number1(roundHalfAway),
  ceil: number1(Math.ceil),
  'math::ln': number1(Math.log),
  'math::log': number2((x, base) => Math.log(x) / Math.log(base)),
  'math::log2': number1(Math.log2),
  'math::log10': number1(Math.log10),
  'math::exp': number1(Math.exp),
  'math::exp2': number1((x) => 2 ** x),
  'math::pow': number2((x, y) => x ** y),
  'math::cos': number1(Math.cos),
  'math::acos': number1(Math.acos),
  'math::cosh': number1(Math.cosh),
  'math::acosh': number1(Math.acosh),
  'math::sin': number1(Math.sin),
  'math::asin': number1(Math.asin),
  'math::sinh': number1(Math.sinh),
  'math::asinh': number1(Math.asinh),
  'math::tan': number1(Math.tan),
  'math::atan': number1(Math.atan),
  'math::tanh': number1(Math.tanh),
  'math::atanh': number1(Math.atanh),
  'math::atan2': number2(Math.atan2),
  'math::sqrt': number1(Math.sqrt),
  'math::cbrt': number1(Math.cbrt),
  'math::hypot': number2(Math.hypot),
  'math::abs': number1(Math.abs),
  'math::is_nan': test1(Number.isNaN),
  'math::is_finite': test1(Number.isFinite),
  'math::is_infinite': test1((x) => x === Infinity || x === -Infinity),
  'math::is_normal': test1((x) => Number.isFinite(x) && Math.abs(x) >= MIN_NORMAL),
};

const NUMERIC: Readonly<Record<string, (a: number, b: number) => number>> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '%': (a, b) => a % b,
  '^': (a, b) => a ** b,
};
const ORDER: Readonly<Record<string, (a: number, b: number) => boolean>> = {
  '<': (a, b) => a < b,
  '>': (a, b) => a > b,
  '<=': (a, b) => a <= b,
  '>=': (a, b) => a >= b,
};

/**
 * Compiles `expr` over `variables` (values[i] is variables[i]). Every mistake is a FormulaError: syntax
 * (with its position), an unknown name (with its position and the closest variable), a construct that is
 * not evalexpr's, or a value of the wrong type (true/false where a number is needed, and so on).
 */
export function compileFormula(expr: string, variables: readonly string[], suggest: (name: string) => string | undefined = () => undefined): Formula {
  let tree: jsep.Expression;
  try {
    tree = jsep(expr);
  } catch (e) {
    const { description, index } = e as { description?: string; index?: number };
    const where = index === undefined ? '' : index >= expr.length ? ' at the end of the formula' : at(index + 1);
    throw new FormulaError(`${description ?? (e as Error).message}${where}`);
  }
  const indexOf = new Map(variables.map((v, i) => [v, i]));
  /** How many times each name was met so far, to find the position of the current one in the text. */
  const seen = new Map<string, number>();
  const position = (name: string): number | undefined => {
    const nth = seen.get(name) ?? 0;
    seen.set(name, nth + 1);
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const matches = [...expr.matchAll(new RegExp(`(?<![\\w:$])${escaped}(?![\\w:$])`, 'g'))];
    const m = matches[nth];
    return m?.index === undefined ? undefined : m.index + 1;
  };

  const compile = (node: jsep.Expression): Compiled => {
    switch (node.type) {
      case 'Literal': {
        const value = (node as jsep.Literal).value;
        if (typeof value === 'number' || typeof value === 'boolean') return { type: typeof value as Type, fn: () => value };
        throw new FormulaError(`${(node as jsep.Literal).raw} is not a number: formulas compute numbers`);
      }
      case 'Identifier': {
        const name = (node as jsep.Identifier).name;
        const where = at(position(name));
        const i = indexOf.get(name);
        if (i === undefined) {
          const hint = suggest(name);
          const known = variables.length > 0 ? ` (the series are ${variables.join(', ')})` : '';
          throw new FormulaError(`unknown name ${name}${where}${hint === undefined ? '' : `; did you mean ${hint}?`}${known}`);
        }
        return { type: 'number', fn: (v) => v[i]! };
      }
      case 'UnaryExpression': {
        const { operator, argument } = node as jsep.UnaryExpression;
        const arg = compile(argument);
        const f = expect(arg, operator === '-' ? 'number' : 'boolean', `the operand of ${operator}`, argument);
        return operator === '-' ? { type: 'number', fn: (v) => -(f(v) as number) } : { type: 'boolean', fn: (v) => !(f(v) as boolean) };
      }
      case 'BinaryExpression':
        return binary(node as jsep.BinaryExpression);
      case 'CallExpression':
        return call(node as jsep.CallExpression);
      case 'ConditionalExpression':
        throw new FormulaError(`"${show(node)}": ? : is not evalexpr's syntax; write if(condition, a, b)`);
      case 'Compound':
      case 'SequenceExpression':
        if (node.type === 'Compound' && (node as jsep.Compound).body.length === 0) throw new FormulaError('the formula is empty');
        throw new FormulaError('a formula is one expression: ; and , may only separate the arguments of a function');
      default:
        throw new FormulaError(`"${show(node)}" is not a number, a series or a function call`);
    }
  };

  const expect = (c: Compiled, type: Type, what: string, node: jsep.Expression): Fn => {
    if (c.type !== type) {
      throw new FormulaError(`${what} must be ${type === 'number' ? 'a number' : 'true or false (a comparison)'}; "${show(node)}" is ${c.type === 'number' ? 'a number' : 'true or false'}`);
    }
    return c.fn;
  };

  const binary = (node: jsep.BinaryExpression): Compiled => {
    const { operator, left, right } = node;
    const l = compile(left);
    const r = compile(right);
    const numeric = NUMERIC[operator];
    if (numeric !== undefined) {
      const a = expect(l, 'number', `an operand of ${operator}`, left) as (v: ArrayLike<number>) => number;
      const b = expect(r, 'number', `an operand of ${operator}`, right) as (v: ArrayLike<number>) => number;
      return { type: 'number', fn: (v) => numeric(a(v), b(v)) };
    }
    const order = ORDER[operator];
    if (order !== undefined) {
      const a = expect(l, 'number', `an operand of ${operator}`, left) as (v: ArrayLike<number>) => number;
      const b = expect(r, 'number', `an operand of ${operator}`, right) as (v: ArrayLike<number>) => number;
      return { type: 'boolean', fn: (v) => order(a(v), b(v)) };
    }
    if (operator === '==' || operator === '!=') {
      if (l.type !== r.type) throw new FormulaError(`"${show(node)}" compares a number with true or false`);
      const equal = operator === '==';
      return { type: 'boolean', fn: (v) => (l.fn(v) === r.fn(v)) === equal };
    }
    const a = expect(l, 'boolean', `an operand of ${operator}`, left);
    const b = expect(r, 'boolean', `an operand of ${operator}`, right);
    return { type: 'boolean', fn: operator === '&&' ? (v) => (a(v) as boolean) && (b(v) as boolean) : (v) => (a(v) as boolean) || (b(v) as boolean) };
  };

  const call = (node: jsep.CallExpression): Compiled => {
    if (node.callee.type !== 'Identifier') throw new FormulaError(`"${show(node)}": only functions can be called`);
    const name = (node.callee as jsep.Identifier).name;
    const where = at(position(name));
    const args = node.arguments.map(compile);
    if (name === 'if') {
      if (args.length !== 3) throw new FormulaError(`if${where} takes 3 arguments (condition, value if true, value if false), got ${args.length}`);
      const test = expect(args[0]!, 'boolean', 'the condition of if', node.arguments[0]!);
      const [yes, no] = [args[1]!, args[2]!];
      if (yes.type !== no.type) throw new FormulaError(`"${show(node)}"${where}: both values of if must be numbers, or both true or false`);
      return { type: yes.type, fn: (v) => (test(v) ? yes.fn(v) : no.fn(v)) };
    }
    const spec = FUNCTIONS[name];
    if (spec === undefined) {
      throw new FormulaError(`unknown function ${name}${where} (functions: if, ${Object.keys(FUNCTIONS).join(', ')})`);
    }
    if (spec.arity === undefined ? args.length === 0 : args.length !== spec.arity) {
      throw new FormulaError(`${name}${where} takes ${spec.arity ?? 'one or more'} argument${spec.arity === 1 ? '' : 's'}, got ${args.length}`);
    }
    const fns = args.map((a, i) => expect(a, 'number', `an argument of ${name}`, node.arguments[i]!) as (v: ArrayLike<number>) => number);
    const apply = spec.apply;
    if (fns.length === 1) {
      const [x] = fns as [(v: ArrayLike<number>) => number];
      return { type: spec.returns, fn: (v) => apply(x(v)) };
    }
    return { type: spec.returns, fn: (v) => apply(...fns.map((f) => f(v))) };
  };

  const compiled = compile(tree);
  if (compiled.type !== 'number') throw new FormulaError(`the formula gives true or false, not a number of joules`);
  const fn = compiled.fn as (v: ArrayLike<number>) => number;
  return { evaluate: fn };
}

/** An expression as text again, for messages: `(a + b) * 2`. */
function show(node: jsep.Expression): string {
  switch (node.type) {
    case 'Literal':
      return String((node as jsep.Literal).raw);
    case 'Identifier':
      return (node as jsep.Identifier).name;
    case 'UnaryExpression': {
      const u = node as jsep.UnaryExpression;
      return `${u.operator}${show(u.argument)}`;
    }
    case 'BinaryExpression': {
      const b = node as jsep.BinaryExpression;
      return `(${show(b.left)} ${b.operator} ${show(b.right)})`;
    }
    case 'CallExpression': {
      const c = node as jsep.CallExpression;
      return `${show(c.callee)}(${c.arguments.map(show).join(', ')})`;
    }
    case 'ConditionalExpression': {
      const c = node as jsep.ConditionalExpression;
      return `${show(c.test)} ? ${show(c.consequent)} : ${show(c.alternate)}`;
    }
    case 'MemberExpression': {
      const m = node as jsep.MemberExpression;
      return m.computed ? `${show(m.object)}[${show(m.property)}]` : `${show(m.object)}.${show(m.property)}`;
    }
    case 'ArrayExpression':
      return `[${(node as jsep.ArrayExpression).elements.map((e) => (e === null ? '' : show(e))).join(', ')}]`;
    default:
      return node.type;
  }
}
