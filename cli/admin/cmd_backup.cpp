// tw backup FILE: a consistent copy of the whole store, the events still in the WAL included.
#include "app/cli_context.hpp"
#include "base/error.hpp"

#include <filesystem>

namespace tw {

void add_backup_command(CLI::App& app, CliContext& ctx) {
  auto* command = app.add_subcommand(
      "backup", "Copy the whole store to FILE (0600) while hooks go on writing; a copy of tokenwarden.db alone "
                "misses the events still in tokenwarden.db-wal");
  auto file = std::make_shared<std::string>();
  command->add_option("file", *file, "The new file (never overwritten)")->required();
  command->callback([&ctx, file] {
    Store* store = ctx.existing_store();
    if (store == nullptr)
      throw Error(ErrorKind::bad_input, "no database at " + ctx.db_path().string() + ": nothing to back up");
    const std::filesystem::path target = std::filesystem::absolute(*file);
    store->backup_to(target);
    std::error_code ec;
    ctx.out << "backed up " << ctx.db_path().string() << " (with its WAL) to " << target.string() << " ("
            << std::filesystem::file_size(target, ec) / 1024 << " kB). To restore it, with no session running: move "
            << ctx.db_path().filename().string() << " and its -wal and -shm files aside together, then copy the "
            << "backup in as " << ctx.db_path().string() << "\n";
  });
}

} // namespace tw
