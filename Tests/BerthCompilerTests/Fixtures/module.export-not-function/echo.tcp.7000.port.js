export const handle = 42;
export const open = "ready";
