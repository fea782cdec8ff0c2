export function handle(conn {
}
