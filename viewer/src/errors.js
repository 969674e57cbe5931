// One place that shows errors to the user (the `error-message` banner, set up by main.js).

let handler = (err) => console.error(err)

export function onError(fn) { handler = fn }

export function report(err) { handler(err) }
