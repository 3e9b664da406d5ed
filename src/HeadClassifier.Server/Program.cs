using System.Globalization;
using HeadClassifier.Server;
using HeadClassifier.Server.Store;

// Numbers in files, pages and logs read the same on every machine, as in the CLI.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.DefaultThreadCurrentUICulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

WebApplication app;
try
{
    app = ServerHost.Build(args);
}
catch (DatabaseInUseException e)
{
    Console.Error.WriteLine("headclassifier-server: " + e.Message);
    return 2;
}
app.Run();
return 0;
