export function runsPage() { return document.createElement("section"); }
