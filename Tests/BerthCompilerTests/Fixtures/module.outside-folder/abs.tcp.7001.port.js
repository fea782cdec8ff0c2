import "/etc/passwd";

export function handle(conn, ctx) {}
