// The error a function throws, for tests that check its code and message; a function that does
// not throw fails the test with a message that says so.
export function thrown(f) {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw, and it returned');
}
