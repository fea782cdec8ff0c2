export function helper(conn) {
  conn.write("hi";
}
