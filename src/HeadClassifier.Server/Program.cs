using HeadClassifier.Server;
using HeadClassifier.Server.Store;

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
