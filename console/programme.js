export function programmePage() { return document.createElement("section"); }
