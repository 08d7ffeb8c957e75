// Tests of the formula language: evalexpr's operators, precedence and functions, evaluated without eval;
// and every kind of mistake reported with what is wrong and where.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFormula, FormulaError } from './formula.js';

const VARIABLES = ['cpu_energy', 'cpu_usage', 'gpu_energy', 'u_major', 'u_mem'];
const VALUES = [200, 25, 300, 40, 10];
const evaluate = (expr: string): number => compileFormula(expr, VARIABLES).evaluate(VALUES);

test('the formulas of the Rust plugin’s README, tests and examples work unchanged', () => {
  assert.equal(evaluate('cpu_energy * cpu_usage / 100.0'), 50);
  assert.equal(evaluate('cpu_energy * cpu_usage'), 5000);
  assert.equal(evaluate('gpu_energy * (u_major * 0.8 + u_mem * 0.2)'), 300 * (40 * 0.8 + 10 * 0.2));
});

test('operators follow evalexpr’s precedence: ^ binds tighter than a prefix -, which binds tighter than * and /', () => {
  const cases: Array<[string, number]> = [
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 4 - 3', 3],
    ['2 ^ 3 ^ 2', 64],
    ['-2 ^ 2', -4],
    ['2 ^ -1', 0.5],
    ['-cpu_usage * 2', -50],
    ['7 % 4', 3],
    ['7 % 4 ^ 2', 7],
    ['1e3 + .5', 1000.5],
    ['if(cpu_usage > 20 && !(u_mem == 3), 1, 2)', 1],
    ['if(cpu_usage <= 20 || u_mem != 10, 1, 2)', 2],
    ['if(true, cpu_usage, 0)', 25],
  ];
  for (const [expr, value] of cases) assert.equal(evaluate(expr), value, expr);
});

test('evalexpr’s numeric functions are there, with Rust’s rounding of halves away from zero', () => {
  const cases: Array<[string, number]> = [
    ['min(3, cpu_usage, 7)', 3],
    ['max(3, cpu_usage, 7)', 25],
    ['floor(2.7) + ceil(2.2)', 5],
    ['round(2.5) + round(-2.5)', 0],
    ['round(-2.4)', -2],
    ['math::ln(1) + math::log(8, 2) + math::log2(4) + math::log10(100)', 7],
    ['math::exp(0) + math::exp2(3) + math::pow(2, 10)', 1033],
    ['math::sqrt(16) + math::cbrt(27) + math::hypot(3, 4) + math::abs(-1)', 13],
    ['math::atan2(1, 1) * 4', Math.PI],
    ['if(math::is_nan(0 / 0) && math::is_infinite(1 / 0) && math::is_finite(1) && !math::is_normal(0), 1, 0)', 1],
  ];
  for (const [expr, value] of cases) assert.ok(Math.abs(evaluate(expr) - value) < 1e-12, `${expr} = ${evaluate(expr)}, expected ${value}`);
});

test('every value is a float: integer division does not truncate, and a division by zero is infinite', () => {
  assert.equal(evaluate('7 / 2'), 3.5);
  assert.equal(evaluate('cpu_energy / 0'), Infinity);
  assert.ok(Number.isNaN(evaluate('0 / 0')));
});

test('a formula that cannot be compiled says what is wrong and where', () => {
  const suggest = (name: string): string | undefined => (name === 'cpu_usge' ? 'cpu_usage' : undefined);
  const cases: Array<[string, RegExp]> = [
    ['cpu_energy * (cpu_usage / 100.0', /^Unclosed \( at the end of the formula$/],
    ['cpu_energy * * cpu_usage', /at character 14$/],
    ['cpu_energy * cpu_usge / 100.0', /^unknown name cpu_usge at character 14; did you mean cpu_usage\? \(the series are cpu_energy, cpu_usage, gpu_energy, u_major, u_mem\)$/],
    ['cpu_usage + cpu_usage * cpu_usge', /^unknown name cpu_usge at character 25/],
    ['sqrt(cpu_usage)', /^unknown function sqrt at character 1 \(functions: if, min, max, .*math::sqrt/],
    ['1 + math::pow(2)', /^math::pow at character 5 takes 2 arguments, got 1$/],
    ['min()', /^min at character 1 takes one or more arguments, got 0$/],
    ['if(cpu_usage, 1, 2)', /^the condition of if must be true or false \(a comparison\); "cpu_usage" is a number$/],
    ['if(cpu_usage > 1, 1)', /^if at character 1 takes 3 arguments/],
    ['if(cpu_usage > 1, 1, true)', /both values of if must be numbers, or both true or false/],
    ['cpu_energy * (cpu_usage > 50)', /^an operand of \* must be a number; "\(cpu_usage > 50\)" is true or false$/],
    ['cpu_usage > 50', /^the formula gives true or false, not a number of joules$/],
    ['cpu_usage > 50 ? 1 : 0', /\? : is not evalexpr's syntax; write if\(condition, a, b\)$/],
    ['cpu_usage == true', /compares a number with true or false/],
    ['"cpu"', /^"cpu" is not a number: formulas compute numbers$/],
    ['cpu.usage', /^"cpu\.usage" is not a number, a series or a function call$/],
    ['cpu_usage; cpu_energy', /^a formula is one expression/],
    ['a = 1', /^Unexpected "=" at character 3$/],
    ['', /^the formula is empty$/],
    ['~cpu_usage', /^Unexpected "~" at character 1$/],
    ['null', /^unknown name null at character 1/],
  ];
  for (const [expr, message] of cases) {
    assert.throws(
      () => compileFormula(expr, VARIABLES, suggest),
      (e: unknown) => e instanceof FormulaError && message.test(e.message),
      `${JSON.stringify(expr)}: ${(() => {
        try {
          compileFormula(expr, VARIABLES, suggest);
          return 'compiled';
        } catch (e) {
          return (e as Error).message;
        }
      })()}`,
    );
  }
});
